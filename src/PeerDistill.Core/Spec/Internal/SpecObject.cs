namespace PeerDistill.Core.Spec.Internal;

/// <summary>A mapping with fixed fields: one level of the spec.</summary>
internal sealed class SpecObject
{
    private readonly Dictionary<string, SpecField> byKey;

    public SpecObject(string description, params IReadOnlyList<SpecField> fields)
    {
        Description = description;
        Fields = fields;
        byKey = fields.ToDictionary(f => f.Key, StringComparer.Ordinal);
        KnownKeys = string.Join(", ", fields.Select(f => f.Key));
    }

    public string Description { get; }

    public IReadOnlyList<SpecField> Fields { get; }

    /// <summary>The keys in declaration order, comma-separated, for "unknown field (known: ...)".</summary>
    public string KnownKeys { get; }

    public SpecField? Find(string key) => byKey.GetValueOrDefault(key);

    /// <summary>The field of <paramref name="key"/>; a key missing from the table is a bug in the loader.</summary>
    public SpecField this[string key] =>
        byKey.TryGetValue(key, out var field) ? field : throw new InvalidOperationException($"no spec field '{key}' in this table");
}
