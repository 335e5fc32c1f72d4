using System.Text.Json;
using PeerDistill.Core.Spec;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>The JSON schema parses, is closed everywhere, and has exactly the keys the loader accepts.</summary>
public class SpecSchemaTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(SpecSchema.ToJsonSchema()).RootElement;

    [Fact]
    public void Schema_IsDraft202012ObjectWithRequiredTopFields()
    {
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", Schema.GetProperty("$schema").GetString());
        Assert.Equal("object", Schema.GetProperty("type").GetString());
        Assert.Equal(["cohort", "peers", "data"], Schema.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void EveryObject_IsClosedAndDescribed()
    {
        var objects = Walk(Schema).Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("properties", out _)).ToList();

        Assert.True(objects.Count >= 10, $"only {objects.Count} objects");
        Assert.All(objects, o => Assert.False(o.GetProperty("additionalProperties").GetBoolean()));
        Assert.All(objects, o => Assert.All(
            o.GetProperty("properties").EnumerateObject(),
            p => Assert.False(string.IsNullOrWhiteSpace(p.Value.GetProperty("description").GetString()), p.Name)));
    }

    [Fact]
    public void EveryKeyOfTheFullSpec_IsInTheSchemaAndViceVersa()
    {
        // The federated keys are errors in a dml spec: two federated specs hold them.
        var accepted = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var text in new[] { SpecText.Full, SpecText.FullFedMd, SpecText.FullFedDf })
        {
            var parsed = SpecText.Parse(text);
            Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
            var yaml = new YamlStream();
            yaml.Load(new StringReader(text));
            CollectKeys((YamlMappingNode)yaml.Documents[0].RootNode, string.Empty, accepted);
        }

        // The keys of multi-teacher distillation, which Full's dml cohort cannot take, from a second valid spec.
        using var dir = new TempSpecDirectory();
        var checkpoint = System.IO.Path.Combine(dir.Path, "teacher.ckpt");
        using (var teacher = PeerDistill.Torch.Model.Create("mlp", new PeerDistill.Torch.InputShape(1, 28, 28), 10, seed: 1))
        {
            PeerDistill.Torch.Checkpoint.Save(checkpoint, teacher, optimizer: null, step: 0);
        }

        var multiTeacher = SpecText.FullMultiTeacher(checkpoint);
        Assert.True(SpecText.Parse(multiTeacher).IsValid, SpecText.Parse(multiTeacher).ToString());
        var second = new YamlStream();
        second.Load(new StringReader(multiTeacher));
        CollectKeys((YamlMappingNode)second.Documents[0].RootNode, string.Empty, accepted);

        var described = new SortedSet<string>(StringComparer.Ordinal);
        CollectProperties(Schema, string.Empty, described);

        Assert.Equal(described, accepted);
    }

    [Fact]
    public void Constraints_ComeFromTheSameTablesAsTheLoader()
    {
        var distillation = Schema.GetProperty("properties").GetProperty("distillation").GetProperty("properties");
        Assert.Equal(["dml", "none", "fedmd", "feddf", "multi-teacher"], distillation.GetProperty("strategy").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0.01, distillation.GetProperty("temperature").GetProperty("minimum").GetDouble());
        Assert.Equal(100, distillation.GetProperty("temperature").GetProperty("maximum").GetDouble());
        Assert.Equal(1.0, distillation.GetProperty("temperature").GetProperty("default").GetDouble());
        Assert.Equal(1, distillation.GetProperty("label_smoothing").GetProperty("exclusiveMaximum").GetDouble());

        var peer = Schema.GetProperty("properties").GetProperty("peers").GetProperty("items");
        Assert.Equal(["name", "model"], peer.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("^[A-Za-z0-9_-]{1,64}$", peer.GetProperty("properties").GetProperty("name").GetProperty("pattern").GetString());
        var threads = peer.GetProperty("properties").GetProperty("threads");
        Assert.Equal((1, 256), (threads.GetProperty("minimum").GetInt32(), threads.GetProperty("maximum").GetInt32()));
        var betas = peer.GetProperty("properties").GetProperty("optimizer").GetProperty("properties").GetProperty("betas");
        Assert.Equal((2, 2), (betas.GetProperty("minItems").GetInt32(), betas.GetProperty("maxItems").GetInt32()));
        Assert.Equal([0.9, 0.999], betas.GetProperty("default").EnumerateArray().Select(e => e.GetDouble()));

        var teachers = Schema.GetProperty("properties").GetProperty("distillation").GetProperty("properties").GetProperty("teachers");
        Assert.Equal("array", teachers.GetProperty("additionalProperties").GetProperty("type").GetString());
    }

    [Fact]
    public void EveryNumber_HasARange_AndEveryString_ALength()
    {
        static bool Typed(JsonElement e, string type) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == type;

        var numbers = Walk(Schema).Where(e => Typed(e, "number") || Typed(e, "integer")).ToList();
        var strings = Walk(Schema).Where(e => Typed(e, "string")).ToList();

        Assert.True(numbers.Count >= 34, $"only {numbers.Count} numeric fields");
        Assert.All(numbers, n => Assert.True(
            (n.TryGetProperty("minimum", out _) || n.TryGetProperty("exclusiveMinimum", out _)) &&
            (n.TryGetProperty("maximum", out _) || n.TryGetProperty("exclusiveMaximum", out _)),
            n.GetProperty("description").GetString()));
        Assert.All(strings, e => Assert.True(e.TryGetProperty("maxLength", out _), e.GetProperty("description").GetString()));
    }

    private static IEnumerable<JsonElement> Walk(JsonElement element)
    {
        yield return element;
        if (element.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        foreach (var property in element.EnumerateObject())
        {
            foreach (var child in property.Value.ValueKind == JsonValueKind.Array ? property.Value.EnumerateArray() : Enumerable.Repeat(property.Value, 1))
            {
                foreach (var nested in Walk(child))
                {
                    yield return nested;
                }
            }
        }
    }

    /// <summary>Dotted paths of the fixed keys ("peers.optimizer.lr"); free-key maps (teachers, weights, model_options) stop at the map.</summary>
    private static void CollectKeys(YamlMappingNode mapping, string prefix, ISet<string> keys)
    {
        foreach (var (key, value) in mapping.Children)
        {
            var path = prefix + ((YamlScalarNode)key).Value;
            keys.Add(path);
            if (path is "peers.model_options" or "distillation.teachers" or "distillation.weights")
            {
                continue;
            }

            var children = value switch
            {
                YamlMappingNode m => [m],
                YamlSequenceNode s => s.Children.OfType<YamlMappingNode>().ToList(),
                _ => new List<YamlMappingNode>(),
            };
            children.ForEach(m => CollectKeys(m, path + ".", keys));
        }
    }

    private static void CollectProperties(JsonElement schema, string prefix, ISet<string> keys)
    {
        foreach (var property in schema.GetProperty("properties").EnumerateObject())
        {
            var path = prefix + property.Name;
            keys.Add(path);
            var value = property.Value;
            if (value.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Object)
            {
                value = items;
            }

            if (value.TryGetProperty("properties", out _))
            {
                CollectProperties(value, path + ".", keys);
            }
        }
    }
}
