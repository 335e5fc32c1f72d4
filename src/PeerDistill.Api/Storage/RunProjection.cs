using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerDistill.Api.Model;

using PeerDistill.Api.Access;

namespace PeerDistill.Api.Storage;

/// <summary>
/// Keeps the database's service tables in step with the cluster, every <see cref="Interval"/>: for
/// each run its row (state, spec, when it ended), its peers (state, placement, generation, step, loss,
/// accuracy), its events, its live changes, the index of its peers' checkpoint files, and its metrics
/// history (the new lines of <c>metrics.&lt;peer&gt;.jsonl</c> in its output directory, through the
/// <see cref="MetricsWriter"/>: batched, off every step's path; a database slower than the peers makes
/// the history fall behind the files and catch up, never a step wait). The cohort grains (their state in the same database) stay the source of
/// truth and the metrics files stay the record: after a restart everything is read again, a row the
/// database holds already is not written twice, and a file a re-activated peer rewrote (shorter than
/// what was read) is read again too. A run that has ended is projected once more, then left.
/// </summary>
internal sealed partial class RunProjection(CohortApi api, IRunStore store, MetricsWriter writer, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<RunProjection> logger) : BackgroundService
{
    /// <summary>How often the runs are looked at.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>The longest line read as a metrics record (longer ones are skipped).</summary>
    public const int MaxLineBytes = 64 * 1024;

    private readonly Dictionary<string, (long Offset, byte[] LastLine)> _offsets = new(StringComparer.Ordinal);
    private readonly Dictionary<RunKey, Projected> _projected = [];
    private readonly HashSet<RunKey> _done = [];
    private volatile bool _suspended;

    /// <summary>
    /// Stops (true) or restarts (false) the passes; a restarted projection catches up with what it
    /// missed. For the api benchmark, which measures what writing the history costs a training step.
    /// </summary>
    internal void Suspend(bool suspended) => _suspended = suspended;

    /// <summary>Whether the run has been projected to its end (it ended, and every line of its files is read).</summary>
    internal bool HasCaughtUp(string cohort, string run) => _done.Contains(new RunKey(cohort, run));

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
            if (_suspended)
            {
                continue;
            }

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

    /// <summary>One pass over every run not projected to its end.</summary>
    public async Task ScanAsync(CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var page = await api.ListAsync(ApiCaller.Coordinator, new RunFilter(PageSize: CohortApi.MaxPageSize, Cursor: cursor), cancellationToken).ConfigureAwait(false);
            foreach (var run in page.Runs)
            {
                var key = new RunKey(run.Cohort, run.Run);
                if (_done.Contains(key) || run.OutputDirectory.Length == 0)
                {
                    continue;
                }

                try
                {
                    await ProjectAsync(key, run, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is CohortApiException or RunNotFoundException)
                {
                    _projected.Remove(key);
                    continue; // deleted (or its silo being replaced) since it was listed: the next pass sees it as it is
                }

                // A finished run is read once more after it ended (its peers' last lines), then left.
                var complete = run.IsFinished;
                if (Directory.Exists(run.OutputDirectory))
                {
                    foreach (var file in Directory.EnumerateFiles(run.OutputDirectory, "metrics.*.jsonl"))
                    {
                        complete &= await ReadAsync(key, file, cancellationToken).ConfigureAwait(false);
                    }
                }

                if (complete)
                {
                    _done.Add(key);
                    _projected.Remove(key);
                }
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>The run's row, peers, events, changes and checkpoint index, as the cluster has them now.</summary>
    private async Task ProjectAsync(RunKey key, RunView run, CancellationToken cancellationToken)
    {
        if (!_projected.TryGetValue(key, out var projected))
        {
            projected = await LoadAsync(key, run, cancellationToken).ConfigureAwait(false);
            _projected[key] = projected;
        }

        if (projected.Version != run.Version)
        {
            var state = StateName(run.State);
            if (projected.State != state)
            {
                await store.UpdateRunStateAsync(key, state, expectedVersion: null, run.Finished, cancellationToken).ConfigureAwait(false);
                projected.State = state;
            }

            var now = time.GetUtcNow();
            await store.UpsertPeersAsync(key, [.. run.Peers.Select(p => new PeerRow(
                p.Name, PeerStateName(p.State), p.Device, p.WorkerId, p.WorkerSilo, (long)p.Generation, p.Step, p.TotalSteps, p.LastLoss, p.Accuracy, now))], cancellationToken).ConfigureAwait(false);

            var fresh = NewEvents(run.Events, projected.LastEvent);
            if (fresh.Count > 0)
            {
                await store.AppendEventsAsync(key, [.. fresh.Select(e => new NewEvent(e.Kind, e.Message, e.At, e.Peer.Length == 0 ? null : e.Peer))], cancellationToken).ConfigureAwait(false);
                projected.LastEvent = fresh[^1];
            }

            foreach (var change in run.Changes.Skip(projected.Changes))
            {
                await store.AddPendingChangeAsync(key, change.Step, ChangeJson(change), now, cancellationToken).ConfigureAwait(false);
                projected.Changes++;
            }

            projected.Version = run.Version;
        }

        await IndexCheckpointsAsync(key, CohortApi.CheckpointFiles(run, peer: null), projected, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the database holds of the run already (inserting its row the first time it is seen).</summary>
    private async Task<Projected> LoadAsync(RunKey key, RunView run, CancellationToken cancellationToken)
    {
        await store.InsertRunAsync(new NewRun(run.Cohort, run.Run, StateName(run.State), run.SpecText, run.SpecFormat, run.Created), cancellationToken).ConfigureAwait(false);
        var row = await store.GetRunAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new RunNotFoundException(key);
        var last = row.LastEventId == 0 ? null : (await store.ReadEventsAsync(key, row.LastEventId - 1, 1, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
        var changes = await store.GetPendingChangesAsync(key, cancellationToken).ConfigureAwait(false);
        var checkpoints = await store.ListCheckpointsAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new Projected
        {
            Version = -1,
            State = row.State,
            LastEvent = last is null ? null : new RunEvent(last.Time, last.Peer ?? string.Empty, last.Kind, last.Message),
            Changes = changes.Count,
            Checkpoints = [.. checkpoints.Select(c => (c.Peer, c.Step))],
        };
    }

    /// <summary>The run's events after <paramref name="last"/> (all of them without one; those since its time if it was trimmed away).</summary>
    internal static IReadOnlyList<RunEvent> NewEvents(IReadOnlyList<RunEvent> events, RunEvent? last)
    {
        if (last is null)
        {
            return events;
        }

        for (var i = events.Count - 1; i >= 0; i--)
        {
            var e = events[i];
            if (e.Kind == last.Kind && e.Peer == last.Peer && e.Message == last.Message && e.At.ToUnixTimeMilliseconds() == last.At.ToUnixTimeMilliseconds())
            {
                return [.. events.Skip(i + 1)];
            }
        }

        return [.. events.Where(e => e.At > last.At)];
    }

    /// <summary>New checkpoint files into the index, pruned ones out of it.</summary>
    private async Task IndexCheckpointsAsync(RunKey key, IReadOnlyList<CheckpointView> files, Projected projected, CancellationToken cancellationToken)
    {
        foreach (var file in files.Where(f => !projected.Checkpoints.Contains((f.Peer, f.Step))))
        {
            await store.AddCheckpointAsync(key, new CheckpointRow(file.Peer, file.Step, file.Path, file.Bytes, file.Written), cancellationToken).ConfigureAwait(false);
            projected.Checkpoints.Add((file.Peer, file.Step));
        }

        var gone = projected.Checkpoints.Except(files.Select(f => (f.Peer, f.Step))).ToList();
        if (gone.Count > 0)
        {
            await store.RemoveCheckpointsAsync(key, gone, cancellationToken).ConfigureAwait(false);
            projected.Checkpoints.ExceptWith(gone);
        }
    }

    /// <summary>A change as stored: its fields by spec path, as they are written in a spec's <c>changes</c>.</summary>
    internal static string ChangeJson(Core.Spec.CohortChange change)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (field, value) in change.Fields)
            {
                json.WriteString(field, value);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string StateName(RunState state) => state.ToString().ToLowerInvariant();

    private static string PeerStateName(PeerState state) => state.ToString().ToLowerInvariant();

    /// <summary>
    /// The new complete lines of <paramref name="path"/> into the writer; whether every row was taken.
    /// A full buffer (a database slower than the peers, or a restart reading long files from the
    /// start) makes the reading wait for room, never drop a row: the files are the record, so the
    /// history falls behind them and catches up, and has no gap.
    /// </summary>
    private async Task<bool> ReadAsync(RunKey run, string path, CancellationToken cancellationToken)
    {
        var (offset, lastLine) = _offsets.GetValueOrDefault(path, (0L, []));
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (offset > 0 && !StillEndsWith(stream, offset, lastLine))
        {
            offset = 0; // rewritten by a re-activated peer (it keeps the lines before its resume step)
            lastLine = [];
        }

        stream.Seek(offset, SeekOrigin.Begin);
        var buffer = new byte[64 * 1024];
        var line = new MemoryStream();
        var tooLong = false;
        var bufferStart = offset; // the file position of buffer[0]
        var taken = true;
        try
        {
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

                    Append(line, buffer.AsSpan(start, i - start), ref tooLong);
                    if (!tooLong && Parse(line.GetBuffer().AsSpan(0, (int)line.Length)) is { } row)
                    {
                        if (!await writer.WaitForRoomAsync(cancellationToken).ConfigureAwait(false))
                        {
                            return false; // the writer stopped: this line, and what follows, at the next start
                        }

                        taken &= writer.TryAdd(new MetricSample(run, row)); // the only producer: the room waited for is there
                    }

                    offset = bufferStart + i + 1;
                    lastLine = tooLong ? [] : line.ToArray();
                    line.SetLength(0);
                    tooLong = false;
                    start = i + 1;
                }

                Append(line, buffer.AsSpan(start, read - start), ref tooLong);
                bufferStart += read;
            }
        }
        finally
        {
            // An incomplete last line is read again, whole, next time.
            _offsets[path] = (offset, lastLine);
        }

        return taken;
    }

    /// <summary>Adds a piece of a line; a line longer than <see cref="MaxLineBytes"/> is only marked (it is skipped, not read).</summary>
    private static void Append(MemoryStream line, ReadOnlySpan<byte> piece, ref bool tooLong)
    {
        if (tooLong || line.Length + piece.Length > MaxLineBytes)
        {
            tooLong = true;
            return;
        }

        line.Write(piece);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "run projection: a pass over the runs failed ({Type}: {Message}); the next pass tries again")]
    private static partial void LogScanFailed(ILogger logger, string type, string message);

    /// <summary>What was projected of a run last (so a pass writes only what changed).</summary>
    private sealed class Projected
    {
        public long Version { get; set; }

        public string State { get; set; } = string.Empty;

        public RunEvent? LastEvent { get; set; }

        public int Changes { get; set; }

        public HashSet<(string Peer, long Step)> Checkpoints { get; init; } = [];
    }
}
