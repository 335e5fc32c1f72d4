using System.Globalization;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// One field of the spec: its key, what it holds, and the constraints the loader enforces and the
/// JSON schema states. Cross-field rules (alpha &lt;= 1 when combine is convex, ...) are not here;
/// the loader checks them and the description says them. The schema describes an
/// <see cref="SpecValueKind.Object"/> field with its <see cref="SpecObject.Description"/>.
/// </summary>
internal sealed record SpecField(string Key, SpecValueKind Kind, string Description)
{
    /// <summary>The longest string a field takes unless it says otherwise (paths included).</summary>
    public const int DefaultMaxLength = 4096;

    public bool Required { get; init; }

    /// <summary>The value used when the field is absent (string, bool, int, long, double or double[]); null for none.</summary>
    public object? Default { get; init; }

    public double? Minimum { get; init; }

    public double? Maximum { get; init; }

    public bool ExclusiveMinimum { get; init; }

    public bool ExclusiveMaximum { get; init; }

    /// <summary>The allowed values of a string field.</summary>
    public IReadOnlyCollection<string>? Allowed { get; init; }

    /// <summary>What the value is called in messages ("unknown strategy 'x'", "invalid peer name 'x'"); the key when null.</summary>
    public string? Noun { get; init; }

    /// <summary>Regular expression (ECMAScript-compatible) a string value must match as a whole.</summary>
    public string? Pattern { get; init; }

    /// <summary>The longest string value, in characters (every string field has one).</summary>
    public int MaxLength { get; init; } = DefaultMaxLength;

    /// <summary>What the pattern allows, for messages ("use 1 to 64 letters, digits, '-' or '_'").</summary>
    public string? PatternHint { get; init; }

    /// <summary>The fields of an <see cref="SpecValueKind.Object"/> field.</summary>
    public SpecObject? Object { get; init; }

    /// <summary>The element of a <see cref="SpecValueKind.List"/> or the value of a <see cref="SpecValueKind.Map"/>.</summary>
    public SpecField? Items { get; init; }

    /// <summary>Pattern the keys of a <see cref="SpecValueKind.Map"/> match.</summary>
    public string? KeyPattern { get; init; }

    public int? MinItems { get; init; }

    public int? MaxItems { get; init; }

    public string Name => Noun ?? Key;

    public bool HasRange => Minimum is not null || Maximum is not null;

    public bool InRange(double value) =>
        (Minimum is not { } min || (ExclusiveMinimum ? value > min : value >= min)) &&
        (Maximum is not { } max || (ExclusiveMaximum ? value < max : value <= max));

    /// <summary>The range as the messages say it: "> 0", ">= 1", "in [0, 1)".</summary>
    public string RangeText => (Minimum, Maximum) switch
    {
        ({ } min, { } max) => $"in {(ExclusiveMinimum ? '(' : '[')}{Format(min)}, {Format(max)}{(ExclusiveMaximum ? ')' : ']')}",
        ({ } min, null) => $"{(ExclusiveMinimum ? ">" : ">=")} {Format(min)}",
        (null, { } max) => $"{(ExclusiveMaximum ? "<" : "<=")} {Format(max)}",
        _ => "any value",
    };

    internal static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
