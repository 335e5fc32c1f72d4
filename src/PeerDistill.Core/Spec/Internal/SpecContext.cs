using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// The problems found in one spec, and typed reading of YAML nodes against <see cref="SpecField"/>
/// constraints. Every reader reports what is wrong and returns null, so the loader goes on and
/// collects every problem.
/// </summary>
internal sealed class SpecContext(string source)
{
    private const int MaxEcho = 60;

    private readonly List<SpecError> errors = [];
    private int unreported;

    public bool HasErrors => errors.Count > 0;

    /// <summary>
    /// The problems in document order (line, then column, then the order found): the first
    /// <see cref="SpecLimits.MaxErrors"/> found, then one line that counts the rest.
    /// </summary>
    public IReadOnlyList<SpecError> Errors
    {
        get
        {
            var ordered = errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList();
            if (unreported > 0)
            {
                ordered.Add(new SpecError(string.Empty, $"{unreported} more problem(s) not listed (at most {SpecLimits.MaxErrors} are)", 0, 0) { Source = source });
            }

            return ordered;
        }
    }

    public void Report(string path, string message, Mark at)
    {
        if (errors.Count >= SpecLimits.MaxErrors)
        {
            unreported++;
            return;
        }

        errors.Add(new SpecError(path, message, (int)Math.Min(at.Line, int.MaxValue), (int)Math.Min(at.Column, int.MaxValue)) { Source = source });
    }

    public void Report(string path, string message, YamlNode at) => Report(path, message, at.Start);

    /// <summary>An empty plain scalar, ~ or null: the field is treated as absent.</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    /// <summary>How a node reads in "got ..." messages: 'hot', the string '2', a mapping, a list.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode { Style: ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted } s => $"the string {Quote(s.Value)}",
        YamlScalarNode s when IsNull(s) => "nothing",
        YamlScalarNode s => Quote(s.Value),
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ => "an unsupported node",
    };

    /// <summary>A value quoted for a one-line message: newlines escaped, values longer than <paramref name="maxLength"/> cut.</summary>
    public static string Quote(string? value, int maxLength = MaxEcho)
    {
        var text = (value ?? string.Empty).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        return text.Length > maxLength ? $"'{text[..maxLength]}...'" : $"'{text}'";
    }

    public static bool IsPlainScalar(YamlNode node, out string text)
    {
        if (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: { } value } && !IsNull(node))
        {
            text = value;
            return true;
        }

        text = string.Empty;
        return false;
    }

    public YamlMappingNode? ExpectMapping(YamlNode node, string path)
    {
        if (node is YamlMappingNode mapping)
        {
            return mapping;
        }

        Report(path, $"expected a mapping, got {Describe(node)}", node);
        return null;
    }

    public YamlSequenceNode? ExpectList(YamlNode node, string path, SpecField field)
    {
        if (node is not YamlSequenceNode list)
        {
            Report(path, $"expected a list, got {Describe(node)}", node);
            return null;
        }

        var count = list.Children.Count;
        if (field.MinItems is { } min && count < min || field.MaxItems is { } max && count > max)
        {
            var (words, last) = (field.MinItems, field.MaxItems) switch
            {
                ({ } a, { } b) when a == b => ($"exactly {a}", a),
                ({ } a, { } b) => ($"{a} to {b}", b),
                ({ } a, null) => ($"at least {a}", a),
                (_, { } b) => ($"at most {b}", b),
                _ => ("any number of", 2),
            };
            var noun = field.Items?.Name ?? "item";
            Report(path, $"expected {words} {noun}{(last == 1 ? string.Empty : "s")}, got {count}", node);
            return null;
        }

        return list;
    }

    public MappingReader? ReadObject(YamlNode node, string path, SpecField field) =>
        ExpectMapping(node, path) is { } mapping ? new MappingReader(this, field.Object!, mapping, path) : null;

    public string? ReadString(YamlNode node, string path, SpecField field)
    {
        if (node is not YamlScalarNode { Value: { } value } || IsNull(node))
        {
            Report(path, $"expected a string, got {Describe(node)}", node);
            return null;
        }

        if (value.Length > field.MaxLength)
        {
            Report(path, $"must be at most {field.MaxLength} characters, got {value.Length}", node);
            return null;
        }

        if (field.Allowed is { } allowed && !allowed.Contains(value, StringComparer.Ordinal))
        {
            Report(path, $"unknown {field.Name} {Quote(value)} (known: {string.Join(", ", allowed)})", node);
            return null;
        }

        if (field.Pattern is { } pattern && !MatchesWhole(value, pattern))
        {
            Report(path, $"invalid {field.Name} {Quote(value)}: {field.PatternHint ?? $"must match {pattern}"}", node);
            return null;
        }

        return value;
    }

    public long? ReadInteger(YamlNode node, string path, SpecField field)
    {
        if (!IsPlainScalar(node, out var text) || !long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Report(path, $"expected an integer, got {Describe(node)}", node);
            return null;
        }

        return CheckRange(value, text, path, field, node) ? value : null;
    }

    public int? ReadInt32(YamlNode node, string path, SpecField field)
    {
        if (ReadInteger(node, path, field) is not { } value)
        {
            return null;
        }

        if (value is < int.MinValue or > int.MaxValue)
        {
            Report(path, $"must be {(value > 0 ? $"<= {int.MaxValue}" : $">= {int.MinValue}")}, got {value}", node);
            return null;
        }

        return (int)value;
    }

    public double? ReadNumber(YamlNode node, string path, SpecField field)
    {
        if (!IsPlainScalar(node, out var text) ||
            !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ||
            !double.IsFinite(value))
        {
            Report(path, $"expected a number, got {Describe(node)}", node);
            return null;
        }

        return CheckRange(value, text, path, field, node) ? value : null;
    }

    public bool? ReadBoolean(YamlNode node, string path)
    {
        if (IsPlainScalar(node, out var text))
        {
            switch (text)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
            }
        }

        Report(path, $"expected true or false, got {Describe(node)}", node);
        return null;
    }

    private bool CheckRange(double value, string text, string path, SpecField field, YamlNode node)
    {
        if (field.InRange(value))
        {
            return true;
        }

        Report(path, $"must be {field.RangeText}, got {text}", node);
        return false;
    }

    /// <summary>Whole-string match; a .NET <c>$</c> alone would also accept a trailing newline.</summary>
    private static bool MatchesWhole(string value, string pattern)
    {
        var match = Regex.Match(value, pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return match.Success && match.Length == value.Length;
    }
}
