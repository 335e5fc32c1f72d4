using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Spec.Internal;
using Xunit;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>
/// Every numeric field of the spec, found by walking the loader's own field tables, has a valid
/// range, and a value just outside it (or absurdly far: 1e308, 2^63 - 1) is refused with the
/// field's path and the range.
/// </summary>
public class SpecRangeTests
{
    /// <summary>A valid spec in JSON (YAML's flow style) in which any field can be set.</summary>
    private const string Base = """
        {"cohort": "demo",
         "peers": [{"name": "a", "model": "mlp", "model_options": {"widths": [16]}}, {"name": "b", "model": "mlp", "model_options": {"widths": [16]}}],
         "data": {"dataset": "synthetic", "synthetic": {"train_count": 100, "test_count": 50}}}
        """;

    public static TheoryData<string> NumericFields()
    {
        var data = new TheoryData<string>();
        foreach (var (path, _) in Numeric())
        {
            data.Add(path);
        }

        return data;
    }

    [Fact]
    public void EveryNumericField_HasAFiniteRange()
    {
        var fields = Numeric().ToList();
        Assert.True(fields.Count >= 34, $"only {fields.Count} numeric fields found");
        Assert.All(fields, f => Assert.True(f.Field.Minimum is not null && f.Field.Maximum is not null, $"{f.Path} has no range ({f.Field.RangeText})"));
    }

    [Fact]
    public void TheBaseSpec_IsValid() => Assert.True(SpecLoader.Parse(Base, "base.json").IsValid, SpecLoader.Parse(Base, "base.json").ToString());

    [Theory]
    [MemberData(nameof(NumericFields))]
    public void JustAboveTheMaximum_RefusedWithPathAndRange(string path)
    {
        var field = Find(path);
        var max = field.Maximum!.Value;
        var value = field.ExclusiveMaximum ? max : field.Kind == SpecValueKind.Integer ? max + 1 : Math.Max(max * 1.5, max + 1);
        AssertRefused(path, field, Format(value, field));
    }

    [Theory]
    [MemberData(nameof(NumericFields))]
    public void JustBelowTheMinimum_RefusedWithPathAndRange(string path)
    {
        var field = Find(path);
        var min = field.Minimum!.Value;
        var value = field.ExclusiveMinimum ? min : field.Kind == SpecValueKind.Integer ? min - 1 : min > 0 ? min / 2 : min - 1;
        AssertRefused(path, field, Format(value, field));
    }

    [Theory]
    [MemberData(nameof(NumericFields))]
    public void AbsurdValues_Refused(string path)
    {
        var field = Find(path);
        if (field.Kind == SpecValueKind.Integer)
        {
            AssertRefused(path, field, long.MaxValue.ToString(CultureInfo.InvariantCulture));
            AssertRefused(path, field, long.MinValue.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            AssertRefused(path, field, "1e308");
            AssertRefused(path, field, "-1e308");
            if (field.Minimum > 0)
            {
                AssertRefused(path, field, "1e-300");
            }
        }
    }

    private static void AssertRefused(string path, SpecField field, string value)
    {
        var result = SpecLoader.Parse(Set(path, value), "spec.json");

        Assert.False(result.IsValid, $"{path} = {value} was accepted");
        var error = Assert.Single(result.Errors, e => e.Path == path);
        Assert.Contains($"must be {field.RangeText}, got {value}", error.Message, StringComparison.Ordinal);
        Assert.True(error.Line > 0, error.ToString());
    }

    /// <summary>The base spec with <paramref name="value"/> (a JSON number, as written) at <paramref name="path"/>.</summary>
    private static string Set(string path, string value)
    {
        var root = JsonNode.Parse(Base)!;
        var segments = Segments(path).ToList();
        var node = root;
        for (var i = 0; i < segments.Count - 1; i++)
        {
            var (key, index) = segments[i];
            node[key] ??= index is null ? new JsonObject() : new JsonArray();
            if (index is { } missing && node[key] is JsonArray list && list.Count <= missing)
            {
                // A list the base spec does not have (changes): its entry at the index, empty.
                while (list.Count <= missing)
                {
                    list.Add(new JsonObject());
                }
            }

            node = index is { } n ? node[key]![n]! : node[key]!;
        }

        var (last, lastIndex) = segments[^1];
        const string Marker = "\"__value__\"";
        if (lastIndex is { } at)
        {
            var list = new JsonArray(Enumerable.Range(0, at + 1).Select(_ => (JsonNode?)JsonValue.Create(0.5)).ToArray());
            list[at] = "__value__";
            node[last] = list;
        }
        else
        {
            node[last] = "__value__";
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }).Replace(Marker, value, StringComparison.Ordinal);
    }

    /// <summary>"peers[0].optimizer.betas[1]" as (key, index) steps.</summary>
    private static IEnumerable<(string Key, int? Index)> Segments(string path)
    {
        foreach (var part in path.Split('.'))
        {
            var bracket = part.IndexOf('[', StringComparison.Ordinal);
            yield return bracket < 0 ? (part, null) : (part[..bracket], int.Parse(part[(bracket + 1)..^1], CultureInfo.InvariantCulture));
        }
    }

    private static SpecField Find(string path) => Numeric().Single(f => f.Path == path).Field;

    private static string Format(double value, SpecField field) =>
        field.Kind == SpecValueKind.Integer ? ((long)value).ToString(CultureInfo.InvariantCulture) : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Every integer or number field, with a path at which the base spec can hold it.</summary>
    private static IEnumerable<(string Path, SpecField Field)> Numeric() => Walk(SpecFields.Cohort, string.Empty);

    private static IEnumerable<(string Path, SpecField Field)> Walk(SpecObject table, string prefix)
    {
        foreach (var field in table.Fields)
        {
            var path = prefix.Length == 0 ? field.Key : $"{prefix}.{field.Key}";
            switch (field.Kind)
            {
                case SpecValueKind.Integer or SpecValueKind.Number:
                    yield return (path, field);
                    break;
                case SpecValueKind.Object:
                    foreach (var inner in Walk(field.Object!, path))
                    {
                        yield return inner;
                    }

                    break;
                case SpecValueKind.List when field.Items!.Kind == SpecValueKind.Object:
                    foreach (var inner in Walk(field.Items.Object!, path + "[0]"))
                    {
                        yield return inner;
                    }

                    break;
                case SpecValueKind.List when field.Items!.Kind is SpecValueKind.Integer or SpecValueKind.Number:
                    yield return (path + "[1]", field.Items);
                    break;
                case SpecValueKind.Map when field.Items!.Kind is SpecValueKind.Integer or SpecValueKind.Number:
                    yield return (path + ".a", field.Items);
                    break;
            }
        }
    }
}
