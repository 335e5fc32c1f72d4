using System.Globalization;
using System.Text.Json.Nodes;
using PeerDistill.Torch;

namespace PeerDistill.Core.Runner;

/// <summary>
/// Checkpoints of a run, one folder per peer (<c>&lt;directory&gt;/&lt;run&gt;/&lt;peer&gt;/step-NNNNNNNN.ckpt</c>),
/// the last <c>keep_last</c> kept.
/// </summary>
public sealed class CheckpointStore
{
    private readonly string _root;
    private readonly int _keepLast;

    public CheckpointStore(string directory, string run, int keepLast)
    {
        _root = Path.Combine(Path.GetFullPath(directory), run);
        _keepLast = Math.Max(1, keepLast);
    }

    public string PeerDirectory(string peer) => Path.Combine(_root, peer);

    public string Save(string peer, Model model, Optimizer optimizer, long stepsCompleted, IReadOnlyDictionary<string, object> metadata)
    {
        var dir = PeerDirectory(peer);
        var path = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"step-{stepsCompleted:D8}.ckpt"));
        Checkpoint.Save(path, model, optimizer, stepsCompleted, MetadataJson(metadata));
        foreach (var old in List(peer).SkipLast(_keepLast))
        {
            File.Delete(old.Path);
        }

        return path;
    }

    /// <summary>
    /// The metadata as a JSON object. Built from JSON values rather than by reflection-based
    /// serialization, so that it survives a trimmed publish; only JSON primitives are accepted.
    /// </summary>
    internal static string MetadataJson(IReadOnlyDictionary<string, object> metadata)
    {
        var node = new JsonObject();
        foreach (var (key, value) in metadata)
        {
            node[key] = value switch
            {
                string s => JsonValue.Create(s),
                int i => JsonValue.Create(i),
                long l => JsonValue.Create(l),
                double d => JsonValue.Create(d),
                bool b => JsonValue.Create(b),
                _ => throw new ArgumentException(
                    $"checkpoint metadata '{key}' is a {value?.GetType().Name ?? "null"}; only strings, integers, doubles and booleans are stored",
                    nameof(metadata)),
            };
        }

        return node.ToJsonString();
    }

    /// <summary>This peer's checkpoints, oldest first.</summary>
    public IReadOnlyList<(long Step, string Path)> List(string peer)
    {
        var dir = PeerDirectory(peer);
        if (!Directory.Exists(dir))
        {
            return Array.Empty<(long, string)>();
        }

        return Directory.GetFiles(dir, "step-*.ckpt")
            .Select(p => (Step: long.TryParse(Path.GetFileNameWithoutExtension(p)[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1, Path: p))
            .Where(e => e.Step >= 0)
            .OrderBy(e => e.Step)
            .ToList();
    }

    /// <summary>
    /// The latest step every one of <paramref name="peers"/> has a checkpoint of, or null when some
    /// peer has none.
    /// </summary>
    public long? CommonStep(IEnumerable<string> peers)
    {
        HashSet<long>? common = null;
        foreach (var peer in peers)
        {
            var steps = List(peer).Select(e => e.Step).ToHashSet();
            common = common is null ? steps : common.Intersect(steps).ToHashSet();
        }

        return common is { Count: > 0 } ? common.Max() : null;
    }

    public string PathOf(string peer, long step) =>
        Path.Combine(PeerDirectory(peer), string.Create(CultureInfo.InvariantCulture, $"step-{step:D8}.ckpt"));
}
