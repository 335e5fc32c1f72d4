using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// One mapping of the spec read against its field table: on construction reports unknown fields
/// (listing the known ones) and missing required ones; the getters read a field's value with its
/// type and constraints, returning null when it is absent or wrong (wrong is reported).
/// </summary>
internal sealed class MappingReader
{
    private readonly SpecContext context;
    private readonly SpecObject table;
    private readonly Dictionary<string, YamlNode> values = new(StringComparer.Ordinal);

    public MappingReader(SpecContext context, SpecObject table, YamlMappingNode node, string path)
    {
        this.context = context;
        this.table = table;
        Path = path;
        Start = node.Start;

        var nullKeys = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in node.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                context.Report(path, $"expected a field name, got {SpecContext.Describe(keyNode)}", keyNode);
                continue;
            }

            if (table.Find(key) is null)
            {
                context.Report(SpecPath.Field(path, key), $"unknown field (known: {table.KnownKeys})", keyNode);
            }
            else if (SpecContext.IsNull(value))
            {
                nullKeys[key] = keyNode;
            }
            else
            {
                values[key] = value;
            }
        }

        foreach (var field in table.Fields.Where(f => f.Required && !values.ContainsKey(f.Key)))
        {
            var at = nullKeys.TryGetValue(field.Key, out var keyNode) ? keyNode.Start : node.Start;
            context.Report(SpecPath.Field(path, field.Key), "missing required field", at);
        }
    }

    /// <summary>The mapping's path ("" for the root).</summary>
    public string Path { get; }

    /// <summary>Where the mapping starts.</summary>
    public Mark Start { get; }

    public string PathOf(string key) => SpecPath.Field(Path, key);

    public SpecField Field(string key) => table[key];

    /// <summary>The value node of <paramref name="key"/>; null when absent or null.</summary>
    public YamlNode? Node(string key)
    {
        _ = table[key];
        return values.GetValueOrDefault(key);
    }

    public string? String(string key) => Node(key) is { } node ? context.ReadString(node, PathOf(key), Field(key)) : null;

    public long? Integer(string key) => Node(key) is { } node ? context.ReadInteger(node, PathOf(key), Field(key)) : null;

    public int? Int32(string key) => Node(key) is { } node ? context.ReadInt32(node, PathOf(key), Field(key)) : null;

    public double? Number(string key) => Node(key) is { } node ? context.ReadNumber(node, PathOf(key), Field(key)) : null;

    public bool? Boolean(string key) => Node(key) is { } node ? context.ReadBoolean(node, PathOf(key)) : null;

    /// <summary>A nested object field; null when absent or not a mapping.</summary>
    public MappingReader? Object(string key) => Node(key) is { } node ? context.ReadObject(node, PathOf(key), Field(key)) : null;

    /// <summary>A list field; null when absent, not a list or of the wrong length.</summary>
    public YamlSequenceNode? List(string key) => Node(key) is { } node ? context.ExpectList(node, PathOf(key), Field(key)) : null;

    /// <summary>A map field (free keys); null when absent or not a mapping.</summary>
    public YamlMappingNode? Map(string key) => Node(key) is { } node ? context.ExpectMapping(node, PathOf(key)) : null;
}
