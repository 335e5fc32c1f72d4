using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Storage;

namespace PeerDistill.Cluster;

/// <summary>
/// Grain storage in files under the cluster's state root (shared storage, like checkpoints: every
/// silo sees it at the same path), so that a grain whose silo died reads its state back on another.
/// One file per grain (<c>&lt;root&gt;/&lt;state name&gt;/&lt;hash of the grain id&gt;.state</c>),
/// written through a temporary file and an atomic rename; the ETag is the write's counter, and a
/// write against a stale ETag fails with <see cref="InconsistentStateException"/> (two activations
/// of one grain cannot both write).
/// </summary>
internal sealed partial class ClusterStorage(Func<string> root, Serializer serializer, ILogger<ClusterStorage> logger) : IGrainStorage
{
    /// <summary>The provider name the grains' <c>[PersistentState]</c> uses.</summary>
    public const string Name = "peerdistill";

    private const int HeaderBytes = sizeof(long);

    // IGrainStorage's T carries no trimming annotation (an implementation cannot add one). The only
    // states stored here are CohortRecord and CohortIndexGrain.IndexState, both in this assembly,
    // which the trimmed CLI publish roots whole (TrimmerRootAssembly in PeerDistill.Cli.csproj), so
    // their parameterless constructors are kept.
    [UnconditionalSuppressMessage("Trimming", "IL2091", Justification = "grain state types live in PeerDistill.Cluster, rooted in the trimmed publish")]
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        if (!File.Exists(path))
        {
            grainState.RecordExists = false;
            grainState.ETag = null;
            grainState.State = Activator.CreateInstance<T>();
            return;
        }

        var bytes = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
        if (bytes.Length < HeaderBytes)
        {
            throw new InconsistentStateException($"grain state file {path} of {grainId} is truncated ({bytes.Length} bytes)");
        }

        var version = BitConverter.ToInt64(bytes, 0);
        grainState.State = serializer.Deserialize<T>(bytes.AsMemory(HeaderBytes));
        grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        var stored = StoredVersion(path);
        var expected = grainState.ETag is null ? 0 : long.Parse(grainState.ETag, System.Globalization.CultureInfo.InvariantCulture);
        if (stored != expected)
        {
            throw new InconsistentStateException($"grain state of {grainId} changed under it (stored version {stored}, this activation read {expected}): another activation wrote it", stored.ToString(System.Globalization.CultureInfo.InvariantCulture), grainState.ETag ?? "none");
        }

        var version = stored + 1;
        var body = serializer.SerializeToArray(grainState.State);
        var bytes = new byte[HeaderBytes + body.Length];
        BitConverter.TryWriteBytes(bytes, version);
        body.CopyTo(bytes, HeaderBytes);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temporary, bytes).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
        grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
        LogWritten(logger, grainId.ToString(), version, bytes.Length);
    }

    // IGrainStorage's T carries no trimming annotation (an implementation cannot add one). The only
    // states stored here are CohortRecord and CohortIndexGrain.IndexState, both in this assembly,
    // which the trimmed CLI publish roots whole (TrimmerRootAssembly in PeerDistill.Cli.csproj), so
    // their parameterless constructors are kept.
    [UnconditionalSuppressMessage("Trimming", "IL2091", Justification = "grain state types live in PeerDistill.Cluster, rooted in the trimmed publish")]
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        File.Delete(PathOf(stateName, grainId));
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
        return Task.CompletedTask;
    }

    private static long StoredVersion(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var file = File.OpenRead(path);
        Span<byte> header = stackalloc byte[HeaderBytes];
        return file.Read(header) == HeaderBytes ? BitConverter.ToInt64(header) : 0;
    }

    private string PathOf(string stateName, GrainId grainId)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(grainId.ToString())))[..32];
        return Path.Combine(root(), stateName, hash + ".state");
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "stored {Grain} version {Version} ({Bytes} bytes)")]
    private static partial void LogWritten(ILogger logger, string grain, long version, int bytes);
}
