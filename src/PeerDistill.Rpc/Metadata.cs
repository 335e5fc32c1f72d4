using System.Collections;
using System.Text;

namespace PeerDistill.Rpc;

/// <summary>
/// Call metadata (HTTP/2 headers or trailers): keys are lower-case ASCII; keys ending in
/// <c>-bin</c> carry bytes (base64 on the wire), all others printable ASCII text.
/// </summary>
public sealed class Metadata : IList<Metadata.Entry>
{
    /// <summary>The suffix of keys whose values are binary.</summary>
    public const string BinarySuffix = "-bin";

    private readonly List<Entry> _entries = [];

    /// <summary>An empty metadata collection that cannot be changed.</summary>
    public static Metadata Empty { get; } = new() { IsReadOnly = true };

    /// <inheritdoc/>
    public int Count => _entries.Count;

    /// <inheritdoc/>
    public bool IsReadOnly { get; private set; }

    /// <inheritdoc/>
    public Entry this[int index]
    {
        get => _entries[index];
        set
        {
            EnsureWritable();
            _entries[index] = value;
        }
    }

    /// <summary>Adds a text entry.</summary>
    public void Add(string key, string value) => Add(new Entry(key, value));

    /// <summary>Adds a binary entry (the key must end in <c>-bin</c>).</summary>
    public void Add(string key, byte[] value) => Add(new Entry(key, value));

    /// <inheritdoc/>
    public void Add(Entry item)
    {
        EnsureWritable();
        _entries.Add(item);
    }

    /// <summary>The last entry with <paramref name="key"/>, or null.</summary>
    public Entry? Get(string key)
    {
        var normalized = Entry.NormalizeKey(key);
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (_entries[i].Key == normalized)
            {
                return _entries[i];
            }
        }

        return null;
    }

    /// <summary>All entries with <paramref name="key"/>, in order.</summary>
    public IEnumerable<Entry> GetAll(string key)
    {
        var normalized = Entry.NormalizeKey(key);
        return _entries.Where(e => e.Key == normalized);
    }

    /// <summary>The text value of the last entry with <paramref name="key"/>, or null.</summary>
    public string? GetValue(string key)
    {
        var entry = Get(key);
        if (entry is { IsBinary: true })
        {
            throw new InvalidOperationException($"metadata key '{key}' is binary; use {nameof(GetValueBytes)}");
        }

        return entry?.Value;
    }

    /// <summary>The bytes of the last entry with <paramref name="key"/>, or null.</summary>
    public byte[]? GetValueBytes(string key) => Get(key)?.ValueBytes;

    /// <inheritdoc/>
    public void Clear()
    {
        EnsureWritable();
        _entries.Clear();
    }

    /// <inheritdoc/>
    public bool Contains(Entry item) => _entries.Contains(item);

    /// <inheritdoc/>
    public void CopyTo(Entry[] array, int arrayIndex) => _entries.CopyTo(array, arrayIndex);

    /// <inheritdoc/>
    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

    /// <inheritdoc/>
    public int IndexOf(Entry item) => _entries.IndexOf(item);

    /// <inheritdoc/>
    public void Insert(int index, Entry item)
    {
        EnsureWritable();
        _entries.Insert(index, item);
    }

    /// <inheritdoc/>
    public bool Remove(Entry item)
    {
        EnsureWritable();
        return _entries.Remove(item);
    }

    /// <inheritdoc/>
    public void RemoveAt(int index)
    {
        EnsureWritable();
        _entries.RemoveAt(index);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void EnsureWritable()
    {
        if (IsReadOnly)
        {
            throw new InvalidOperationException("this metadata collection is read-only");
        }
    }

    /// <summary>One metadata entry.</summary>
    public sealed class Entry : IEquatable<Entry>
    {
        private readonly string? _value;
        private readonly byte[]? _bytes;

        /// <summary>A text entry: printable ASCII (0x20-0x7E), key not ending in <c>-bin</c>.</summary>
        public Entry(string key, string value)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(value);
            if (IsBinaryKey(Key))
            {
                throw new ArgumentException($"metadata key '{Key}' ends in '{BinarySuffix}' and needs a byte[] value", nameof(value));
            }

            foreach (var c in value)
            {
                if (c < 0x20 || c > 0x7E)
                {
                    throw new ArgumentException($"metadata value of '{Key}' must be printable ASCII; use a '{BinarySuffix}' key for other bytes", nameof(value));
                }
            }

            _value = value;
        }

        /// <summary>A binary entry; the key must end in <c>-bin</c>.</summary>
        public Entry(string key, byte[] value)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(value);
            if (!IsBinaryKey(Key))
            {
                throw new ArgumentException($"binary metadata key '{Key}' must end in '{BinarySuffix}'", nameof(key));
            }

            _bytes = value;
        }

        /// <summary>The key, lower case.</summary>
        public string Key { get; }

        /// <summary>Whether the value is binary.</summary>
        public bool IsBinary => _bytes is not null;

        /// <summary>The text value (binary entries: not available).</summary>
        public string Value => _value ?? throw new InvalidOperationException($"metadata key '{Key}' is binary; use {nameof(ValueBytes)}");

        /// <summary>The value as bytes (text entries: their ASCII bytes).</summary>
        public byte[] ValueBytes => _bytes ?? Encoding.ASCII.GetBytes(_value!);

        /// <summary>Whether a key names a binary value.</summary>
        public static bool IsBinaryKey(string key) => key.EndsWith(BinarySuffix, StringComparison.Ordinal);

        /// <summary>Checks a key (lower-case letters, digits, '-', '_', '.'; not reserved) and lower-cases it.</summary>
        public static string NormalizeKey(string key)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            var lower = key.ToLowerInvariant();
            foreach (var c in lower)
            {
                if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or '.'))
                {
                    throw new ArgumentException($"metadata key '{key}' has a character other than a-z, 0-9, '-', '_' or '.'", nameof(key));
                }
            }

            return lower;
        }

        /// <inheritdoc/>
        public bool Equals(Entry? other) =>
            other is not null && Key == other.Key && (IsBinary ? other.IsBinary && _bytes!.AsSpan().SequenceEqual(other._bytes) : _value == other._value);

        /// <inheritdoc/>
        public override bool Equals(object? obj) => Equals(obj as Entry);

        /// <inheritdoc/>
        public override int GetHashCode() => HashCode.Combine(Key, _value, _bytes?.Length);

        /// <inheritdoc/>
        public override string ToString() => IsBinary ? $"{Key}: <{_bytes!.Length} bytes>" : $"{Key}: {_value}";
    }
}
