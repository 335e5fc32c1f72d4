using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerDistill.Api.Model;

namespace PeerDistill.Api.Storage;

/// <summary>
/// Copies what the peers write to their metrics files (<c>metrics.&lt;peer&gt;.jsonl</c> in the run's
/// output directory, on the storage every silo shares) into the database's metrics history, every
/// <see cref="Interval"/>, through the <see cref="MetricsWriter"/> (batched, off every step's path: a
/// slow database costs the history rows, counted, never a step). The files stay the record: after a
/// restart they are read again from the start, and a row the database holds already is not written
/// twice; a file a re-activated peer rewrote (shorter than what was read) is read again too.
/// </summary>
internal sealed partial class MetricsIngest(CohortApi api, IRunStore store, MetricsWriter writer, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<MetricsIngest> logger) : BackgroundService
{
    /// <summary>How often the files are looked at.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>The longest line read as a metrics record (longer ones are skipped).</summary>
    public const int MaxLineBytes = 64 * 1024;

    private readonly Dictionary<string, (long Offset, byte[] LastLine)> _offsets = new(StringComparer.Ordinal);
    private readonly HashSet<RunKey> _known = [];
    private readonly HashSet<RunKey> _done = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The runs are read through the cluster: not before the silo has started with the rest of the host.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
        }

        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await ScanAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogScanFailed(logger, e.GetType().Name, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One pass over every run not read to its end: new lines of its metrics files into the writer.</summary>
    public async Task ScanAsync(CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var page = await api.ListAsync(new RunFilter(PageSize: CohortApi.MaxPageSize, Cursor: cursor), cancellationToken).ConfigureAwait(false);
            foreach (var run in page.Runs)
            {
                var key = new RunKey(run.Cohort, run.Run);
                if (_done.Contains(key) || run.OutputDirectory.Length == 0)
                {
                    continue;
                }

                if (_known.Add(key))
                {
                    // The history's run row (the run's record itself is the cohort grain's state).
                    await store.InsertRunAsync(new NewRun(run.Cohort, run.Run, run.State.ToString().ToLowerInvariant(), string.Empty, string.Empty, run.Created), cancellationToken).ConfigureAwait(false);
                }

                // A finished run is read once more after it ended (its peers' last lines), then left.
                var complete = run.IsFinished;
                if (Directory.Exists(run.OutputDirectory))
                {
                    foreach (var file in Directory.EnumerateFiles(run.OutputDirectory, "metrics.*.jsonl"))
                    {
                        complete &= Read(key, file);
                    }
                }

                if (complete)
                {
                    _done.Add(key);
                }
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>The new complete lines of <paramref name="path"/>; whether everything offered was taken.</summary>
    private bool Read(RunKey run, string path)
    {
        var (offset, lastLine) = _offsets.GetValueOrDefault(path, (0L, []));
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (offset > 0 && !StillEndsWith(stream, offset, lastLine))
        {
            offset = 0; // rewritten by a re-activated peer (it keeps the lines before its resume step)
        }

        stream.Seek(offset, SeekOrigin.Begin);
        var buffer = new byte[64 * 1024];
        var line = new MemoryStream();
        var taken = true;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }

                line.Write(buffer, start, i - start);
                offset += line.Length + 1;
                lastLine = line.ToArray();
                if (line.Length <= MaxLineBytes && Parse(line.GetBuffer().AsSpan(0, (int)line.Length)) is { } row)
                {
                    taken &= writer.TryAdd(new MetricSample(run, row));
                }

                line.SetLength(0);
                start = i + 1;
            }

            if (line.Length + (read - start) <= MaxLineBytes)
            {
                line.Write(buffer, start, read - start);
            }
        }

        // An incomplete last line is read again, whole, next time.
        _offsets[path] = (offset, lastLine);
        return taken;
    }

    /// <summary>Whether the line read last still ends at <paramref name="offset"/> (the file was only appended to since).</summary>
    private static bool StillEndsWith(FileStream stream, long offset, byte[] lastLine)
    {
        var start = offset - lastLine.Length - 1;
        if (stream.Length < offset || start < 0)
        {
            return false;
        }

        stream.Seek(start, SeekOrigin.Begin);
        var bytes = new byte[lastLine.Length + 1];
        stream.ReadExactly(bytes);
        return bytes[^1] == (byte)'\n' && bytes.AsSpan(0, lastLine.Length).SequenceEqual(lastLine);
    }

    /// <summary>A step or evaluation record as a metrics row; null for anything else (events, torn lines).</summary>
    internal MetricRow? Parse(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line);
            using var document = JsonDocument.ParseValue(ref reader);
            var e = document.RootElement;
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("type", out var type) || !e.TryGetProperty("peer", out var peer) || !e.TryGetProperty("step", out var step) || !step.TryGetInt64(out var s))
            {
                return null;
            }

            var now = time.GetUtcNow();
            return type.GetString() switch
            {
                "step" => new MetricRow(peer.GetString() ?? string.Empty, s, now, Number(e, "loss"), Number(e, "ce"), Number(e, "kd"), Number(e, "hint"), Number(e, "lr"), Number(e, "samples_per_s")),
                "eval" when e.TryGetProperty("split", out var split) && split.GetString() == "test" => new MetricRow(peer.GetString() ?? string.Empty, s, now, Accuracy: Number(e, "accuracy"), EvalLoss: Number(e, "loss")),
                _ => null,
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or DecoderFallbackException)
        {
            return null;
        }
    }

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble()
        : e.TryGetProperty(name, out v) && v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
        : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "metrics history: a pass over the runs' metrics files failed ({Type}: {Message}); the next pass tries again")]
    private static partial void LogScanFailed(ILogger logger, string type, string message);
}
