using System.Globalization;
using Microsoft.Extensions.Logging;
using PeerDistill.Api.Model;
using PeerDistill.Torch;

namespace PeerDistill.Api;

/// <summary>
/// Turns a run's checkpoint into the TorchScript file PyTorch loads (torch.jit.load), for download.
/// The engine rebuilds the model from the checkpoint alone, on the coordinator's CPU; the file is
/// written under the coordinator's data directory and deleted when the download's stream closes.
/// At most <see cref="MaxConcurrentExports"/> run at once: a burst of requests waits its turn, then
/// is refused as unavailable, so exports never take the machine from the peers it hosts.
/// </summary>
public sealed partial class CheckpointExporter : IDisposable
{
    /// <summary>How many exports run at once.</summary>
    public const int MaxConcurrentExports = 2;

    /// <summary>How long a request waits for an export slot before it is refused (Unavailable: try again).</summary>
    public static readonly TimeSpan QueueWait = TimeSpan.FromSeconds(30);

    private const string FilePrefix = "export-";

    private readonly SemaphoreSlim _slots = new(MaxConcurrentExports, MaxConcurrentExports);
    private readonly string _directory;
    private readonly ILogger<CheckpointExporter> _logger;

    /// <param name="directory">Where exports are written while they are downloaded (files of an earlier process that died are removed here).</param>
    /// <param name="logger">Where failed exports are reported.</param>
    public CheckpointExporter(string directory, ILogger<CheckpointExporter> logger)
    {
        _directory = Path.GetFullPath(directory);
        _logger = logger;
        RemoveLeftovers();
    }

    /// <summary>
    /// A download of <paramref name="checkpoint"/>: the checkpoint file itself, or with
    /// <paramref name="torchScript"/> its export (<see cref="ExportAsync"/>). NotFound when the file is gone.
    /// </summary>
    public async Task<Stream> OpenAsync(CheckpointView checkpoint, bool torchScript, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (torchScript)
        {
            return await ExportAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return new FileStream(checkpoint.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, useAsync: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Gone(checkpoint);
        }
    }

    /// <summary>The export of <paramref name="checkpoint"/>, as a stream that deletes its file when closed.</summary>
    public async Task<Stream> ExportAsync(CheckpointView checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        const string Operation = "DownloadCheckpoint";
        if (!await _slots.WaitAsync(QueueWait, cancellationToken).ConfigureAwait(false))
        {
            throw new CohortApiException(ApiError.Unavailable, $"{Operation}: {MaxConcurrentExports} TorchScript exports are running; try again");
        }

        var file = Path.Combine(_directory, $"{FilePrefix}{Guid.NewGuid():N}.pt");
        try
        {
            Directory.CreateDirectory(_directory);
            await Task.Run(() => Checkpoint.ExportTorchScript(checkpoint.Path, file), cancellationToken).ConfigureAwait(false);
            return new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is TorchException or IOException or UnauthorizedAccessException)
        {
            TryDelete(file);
            ExportFailed(_logger, checkpoint.Peer, checkpoint.Step, checkpoint.Path, e.Message);
            if (!File.Exists(checkpoint.Path))
            {
                throw Gone(checkpoint);
            }

            throw e is TorchException
                ? new CohortApiException(ApiError.FailedPrecondition, $"{Operation}: the checkpoint of peer '{checkpoint.Peer}' at step {checkpoint.Step} cannot be exported as TorchScript: {e.Message}")
                : new CohortApiException(ApiError.Unavailable, $"{Operation}: the export of peer '{checkpoint.Peer}' at step {checkpoint.Step} could not be written ({e.Message}); try again");
        }
        catch
        {
            TryDelete(file);
            throw;
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>The name a download of <paramref name="checkpoint"/> is saved under: cohort-peer-step-N.ckpt, or .pt for TorchScript (only letters, digits, '-', '_' and '.').</summary>
    public static string FileName(string cohort, CheckpointView checkpoint, bool torchScript)
    {
        ArgumentNullException.ThrowIfNull(cohort);
        ArgumentNullException.ThrowIfNull(checkpoint);
        static string Part(string name) => string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
        return string.Create(CultureInfo.InvariantCulture, $"{Part(cohort)}-{Part(checkpoint.Peer)}-step-{checkpoint.Step}{(torchScript ? ".pt" : ".ckpt")}");
    }

    public void Dispose() => _slots.Dispose();

    private static CohortApiException Gone(CheckpointView checkpoint) =>
        new(ApiError.NotFound, $"DownloadCheckpoint: the checkpoint of peer '{checkpoint.Peer}' at step {checkpoint.Step} is gone (pruned or deleted)");

    private void RemoveLeftovers()
    {
        if (!Directory.Exists(_directory))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(_directory, FilePrefix + "*.pt"))
        {
            TryDelete(file);
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Removed at the next start.
        }
    }

    [LoggerMessage(420, LogLevel.Warning, "TorchScript export of peer {Peer} at step {Step} ({Path}) failed: {Reason}")]
    private static partial void ExportFailed(ILogger logger, string peer, long step, string path, string reason);
}
