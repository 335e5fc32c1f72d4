using System.Collections.Concurrent;
using System.Globalization;
using PeerDistill.Api.Access;
using PeerDistill.Api.Model;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Grains;
using PeerDistill.Cluster.Transport;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Storage;

namespace PeerDistill.Api;

/// <summary>
/// The cohort API over the cluster: submit, inspect, watch and cancel runs. Plain domain calls that
/// answer in the API's read model (<see cref="RunView"/>; the gRPC service translates it to the
/// wire, and the cluster's own state never leaves here); refusals are <see cref="CohortApiException"/>s naming what was
/// wrong. Specs are validated without the engine (libtorch is not loaded here): the silo that
/// hosts a peer builds its model and fails the cohort, naming the peer and field, if it cannot.
/// </summary>
public sealed class CohortApi(IGrainFactory grains, ApiOptions options, TimeProvider time, Storage.IRunHistory? history = null, AuditTrail? audit = null)
{
    /// <summary>How long a pause waits for every peer to have stopped at the pause step before it answers (it answers with the run as it is then).</summary>
    public static readonly TimeSpan PauseWait = TimeSpan.FromSeconds(30);

    private readonly string _outputRoot = Path.GetFullPath(options.OutputRoot);
    private readonly string _checkpointRoot = Path.GetFullPath(options.CheckpointRoot ?? options.OutputRoot);

    /// <summary>The latest read of each run's status, shared by the reads (get, list, watch) of <see cref="ApiOptions.ReadCacheAge"/>.</summary>
    private readonly ConcurrentDictionary<(string Cohort, string Run), (Task<RunView> View, DateTimeOffset Taken)> _reads = new();

    private ICohortIndexGrain Index => grains.GetGrain<ICohortIndexGrain>(ICohortIndexGrain.Key);

    /// <summary>The longest idempotency key accepted, in characters.</summary>
    public const int MaxIdempotencyKeyLength = 255;

    /// <summary>The most runs one page of a listing holds.</summary>
    public const int MaxPageSize = 500;

    /// <summary>
    /// Validates a spec and starts a run of it. With an <paramref name="idempotencyKey"/>, a retry of
    /// the same submission (same key, spec and format) answers the run it started the first time
    /// instead of starting another; the key used for another submission is refused.
    /// </summary>
    public async Task<SubmittedRun> SubmitAsync(ApiCaller caller, string specText, string specFormat, string? idempotencyKey, CancellationToken cancellationToken)
    {
        // REST and gRPC alike: the validation and the cohort's start under one span (the run's span is its child).
        using var span = ApiTelemetry.Source.StartActivity("cohort.submit");
        try
        {
            var submitted = await SubmitCoreAsync(caller, specText, specFormat, idempotencyKey, cancellationToken).ConfigureAwait(false);
            _reads.Clear();
            span?.SetTag(Core.Telemetry.TelemetryAttributes.Cohort, submitted.Cohort);
            span?.SetTag(Core.Telemetry.TelemetryAttributes.Run, submitted.Run);
            await RecordAsync(caller, "Submit", submitted.Replayed ? "replayed" : "ok", submitted.Cohort, submitted.Run, null).ConfigureAwait(false);
            return submitted;
        }
        catch (CohortApiException e)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Error.ToString());
            await RecordAsync(caller, "Submit", Outcome(e.Error), null, null, e.Message).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<SubmittedRun> SubmitCoreAsync(ApiCaller caller, string specText, string specFormat, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var format = (specFormat ?? string.Empty).Trim().ToLowerInvariant();
        if (format.Length == 0)
        {
            format = "yaml";
        }

        if (format is not ("yaml" or "json"))
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"Submit: spec_format '{specFormat}' is not supported; use \"yaml\" or \"json\"");
        }

        if (string.IsNullOrWhiteSpace(specText))
        {
            throw new CohortApiException(ApiError.InvalidArgument, "Submit: spec_text is empty; send the cohort spec, as the YAML or JSON cohort file");
        }

        if (idempotencyKey is not null && (idempotencyKey.Length is 0 or > MaxIdempotencyKeyLength || !idempotencyKey.All(c => c is >= '!' and <= '~')))
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"Submit: idempotency key: must be 1 to {MaxIdempotencyKeyLength} printable ASCII characters without spaces (a UUID is usual)");
        }

        var loaded = SpecLoader.ParseWithoutEngine(specText, "submitted." + format);
        if (loaded.Spec is not { } spec)
        {
            throw new CohortApiException(ApiError.InvalidArgument, string.Join('\n', loaded.Errors)) { SpecErrors = loaded.Errors };
        }

        // Frames too large for the gRPC exchange would fail at the peers' first step: refuse the cohort now.
        var classes = spec.Data.Dataset == "synthetic" ? spec.Data.SyntheticClasses : 10;
        if (WireCodec.TooLarge(spec.Data.BatchSize, classes, LogitWireFormat.From(spec.Exchange), GrpcServiceHostOptions.DefaultMaxReceiveMessageSize) is { } tooLarge)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"Submit: {tooLarge}");
        }

        var (outputBase, checkpointBase) = ConfinedDirectories(spec);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var request = idempotencyKey is null ? null : new RunRequestKey(idempotencyKey, Digest(format, specText));
        var admission = await Index.AdmitAsync(spec.Cohort, now, request, caller.Project).ConfigureAwait(false);
        if (admission.KeyReused is { } reused)
        {
            var which = caller.Sees(reused.Project) ? $" (run '{reused.Run}' of cohort '{reused.Cohort}')" : string.Empty;
            throw new CohortApiException(ApiError.KeyReused, $"Submit: idempotency key '{idempotencyKey}' was used for another submission{which}; a retry must send the same spec, or use a new key for a new submission");
        }

        if (admission.Replayed)
        {
            return new SubmittedRun(spec.Cohort, admission.Run!, Replayed: true);
        }

        if (admission.Run is not { } runId)
        {
            var open = admission.Conflict!;
            throw new CohortApiException(ApiError.AlreadyExists, caller.Sees(open.Project)
                ? $"Submit: cohort '{spec.Cohort}' already has run '{open.Run}' ({States.Name(open.State)}); cancel it or wait for it to end before submitting the cohort again"
                : $"Submit: the cohort name '{spec.Cohort}' is in use by a run of another project; cohort names are unique across the coordinator: choose another");
        }

        var output = Path.Combine(outputBase, runId);
        var checkpoints = checkpointBase ?? (options.CheckpointRoot is not null ? Path.Combine(_checkpointRoot, spec.Cohort, runId) : Path.Combine(output, "checkpoints"));
        var submission = new CohortSubmission
        {
            Cohort = spec.Cohort,
            Run = runId,
            SpecText = specText,
            SpecFormat = format,
            Strategy = spec.Distillation.Strategy,
            OutputDirectory = output,
            CheckpointDirectory = checkpoints,
            KeepLast = spec.Checkpoints.KeepLast,
            Peers = spec.Peers.Select(p => new SubmittedPeer(p.Name, p.Model, p.Device)).ToList(),
            CreatedUnixMillis = now,
            MaxEvents = options.MaxEventsPerRun,
        };
        try
        {
            await Cohort(spec.Cohort, runId).StartAsync(submission, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await Index.UpdateAsync(spec.Cohort, runId, CohortState.Failed).ConfigureAwait(false);
            throw new CohortApiException(ApiError.Unavailable, $"Submit: run '{runId}' of cohort '{spec.Cohort}' could not be started: {e.Message}");
        }

        return new SubmittedRun(spec.Cohort, runId, Replayed: false);
    }

    /// <summary>
    /// Activates the grain of every run that has not ended (after a coordinator restart: each reads
    /// its state back and re-places its peers from their checkpoints); the runs it woke.
    /// </summary>
    public async Task<IReadOnlyList<RunView>> WakeUnfinishedAsync(CancellationToken cancellationToken)
    {
        var entries = await Index.ListAsync().ConfigureAwait(false);
        var woken = new List<RunView>();
        foreach (var entry in entries.Where(e => !States.IsFinished(e.State)))
        {
            woken.Add(await StatusAsync(entry, cancellationToken).ConfigureAwait(false));
        }

        return woken;
    }

    /// <summary>
    /// Deletes a run that has ended: its record (and with it its place in listings and its idempotency
    /// key) and, with <paramref name="deleteFiles"/>, its output and checkpoint directories (only under
    /// the coordinator's roots). FailedPrecondition for a run that has not ended (cancel it first);
    /// StaleVersion unless the run is at <paramref name="expectedVersion"/> when one is given. The
    /// directories it deleted.
    /// </summary>
    public Task<IReadOnlyList<string>> DeleteAsync(ApiCaller caller, string cohort, string run, bool deleteFiles, long? expectedVersion, CancellationToken cancellationToken) =>
        AuditedAsync(caller, "DeleteCohort", cohort, run, () => DeleteCoreAsync(caller, cohort, run, deleteFiles, expectedVersion, cancellationToken));

    private async Task<IReadOnlyList<string>> DeleteCoreAsync(ApiCaller caller, string cohort, string run, bool deleteFiles, long? expectedVersion, CancellationToken cancellationToken)
    {
        const string Operation = "DeleteCohort";
        var entry = await ResolveAsync(caller, Operation, cohort, run).ConfigureAwait(false);
        var record = await RecordAsync(entry, cancellationToken).ConfigureAwait(false);
        var view = RunViews.From(record ?? new CohortRecord { Cohort = entry.Cohort, Run = entry.Run, State = entry.State });
        if (expectedVersion is { } expected && expected != view.Version)
        {
            throw new CohortApiException(ApiError.StaleVersion, $"{Operation}: cohort '{entry.Cohort}' run '{entry.Run}' is at version {view.Version}, not {expected}; read it again and decide again");
        }

        if (!view.IsFinished && record is not null)
        {
            throw new CohortApiException(ApiError.FailedPrecondition, $"{Operation}: cohort '{entry.Cohort}' run '{entry.Run}' is {States.Name(RunViews.ToCluster(view.State))}; only a run that has ended can be deleted (cancel it first)");
        }

        bool forgotten;
        try
        {
            forgotten = await Cohort(entry.Cohort, entry.Run).ForgetAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CohortApiException(ApiError.Unavailable, $"{Operation}: cohort '{entry.Cohort}' run '{entry.Run}' cannot be reached now ({e.Message}); try again");
        }

        if (!forgotten)
        {
            throw new CohortApiException(ApiError.FailedPrecondition, $"{Operation}: cohort '{entry.Cohort}' run '{entry.Run}' has not ended; cancel it first");
        }

        await Index.RemoveAsync(entry.Cohort, entry.Run).ConfigureAwait(false);
        if (history is not null)
        {
            await history.ForgetAsync(entry.Cohort, entry.Run, cancellationToken).ConfigureAwait(false);
        }

        var deleted = new List<string>();
        if (deleteFiles && record is not null)
        {
            foreach (var (directory, root) in new[] { (record.CheckpointDirectory, _checkpointRoot), (record.OutputDirectory, _outputRoot) })
            {
                if (directory.Length > 0 && Directory.Exists(directory) && ConfinedPath.IsUnder(Path.GetFullPath(directory), root) && Path.GetFullPath(directory) != root)
                {
                    Directory.Delete(directory, recursive: true);
                    deleted.Add(directory);
                }
            }
        }

        return deleted;
    }

    /// <summary>
    /// A run's metrics history (from the database: what its peers' metrics files held when last read,
    /// within a second or two of the step), filtered by peer and step range, thinned per peer.
    /// InvalidArgument for a filter out of its bounds; empty where the coordinator keeps no history.
    /// </summary>
    public async Task<(RunView Run, IReadOnlyList<MetricPoint> Points)> MetricsAsync(ApiCaller caller, string cohort, string run, MetricsFilter filter, CancellationToken cancellationToken)
    {
        const string Operation = "GetRunMetrics";
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Peers.Count > MetricsFilter.MaxPeers || filter.Peers.Any(p => string.IsNullOrEmpty(p) || p.Length > 256))
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"{Operation}: peers: name at most {MetricsFilter.MaxPeers} peers, each 1 to 256 characters");
        }

        if (filter.FromStep < 0 || filter.ToStep < filter.FromStep)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"{Operation}: step range {filter.FromStep}..{filter.ToStep} is empty or negative");
        }

        if (filter.MaxPointsPerPeer is < 1 or > MetricsFilter.MaxPoints)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"{Operation}: max points: must be 1 to {MetricsFilter.MaxPoints}, got {filter.MaxPointsPerPeer}");
        }

        var view = await GetAsync(caller, Operation, cohort, run, cancellationToken).ConfigureAwait(false);
        var points = history is null ? [] : await history.MetricsAsync(view.Cohort, view.Run, filter, cancellationToken).ConfigureAwait(false);
        return (view, points);
    }

    /// <summary>The run and the checkpoints of its peers (of one peer, when named), by peer and step.</summary>
    public async Task<(RunView Run, IReadOnlyList<CheckpointView> Checkpoints)> ListCheckpointsAsync(ApiCaller caller, string cohort, string run, string? peer, CancellationToken cancellationToken)
    {
        const string Operation = "ListCheckpoints";
        var view = await GetAsync(caller, Operation, cohort, run, cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(peer) && view.Peers.All(p => p.Name != peer))
        {
            throw new CohortApiException(ApiError.NotFound, $"{Operation}: cohort '{view.Cohort}' run '{view.Run}' has no peer '{Echo(peer)}' (its peers: {string.Join(", ", view.Peers.Select(p => p.Name))})");
        }

        return (view, CheckpointFiles(view, peer));
    }

    /// <summary>The checkpoint files of <paramref name="view"/>'s peers (of one peer, when named), by peer and step, as the storage holds them now.</summary>
    internal static IReadOnlyList<CheckpointView> CheckpointFiles(RunView view, string? peer)
    {
        if (view.CheckpointDirectory.Length == 0)
        {
            return [];
        }

        var store = new CheckpointStore(view.CheckpointDirectory, view.Run, view.KeepLast);
        var views = new List<CheckpointView>();
        foreach (var name in string.IsNullOrEmpty(peer) ? view.Peers.Select(p => p.Name) : [peer])
        {
            try
            {
                foreach (var (step, path) in store.List(name))
                {
                    var file = new FileInfo(path);
                    if (file.Exists)
                    {
                        views.Add(new CheckpointView(name, step, file.Length, file.LastWriteTimeUtc, path));
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CohortApiException(ApiError.Unavailable, $"ListCheckpoints: the checkpoints of '{name}' cannot be listed now ({e.Message})");
            }
        }

        return views;
    }

    /// <summary>One checkpoint of a run's peer: of <paramref name="step"/>, or its newest when null.</summary>
    public async Task<CheckpointView> FindCheckpointAsync(ApiCaller caller, string cohort, string run, string peer, long? step, CancellationToken cancellationToken)
    {
        const string Operation = "DownloadCheckpoint";
        if (string.IsNullOrEmpty(peer))
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"{Operation}: peer is empty; name the peer whose checkpoint to download");
        }

        if (step is < 0)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"{Operation}: step {step} is negative");
        }

        var (_, checkpoints) = await ListCheckpointsAsync(caller, cohort, run, peer, cancellationToken).ConfigureAwait(false);
        var found = step is { } wanted ? checkpoints.FirstOrDefault(c => c.Step == wanted) : checkpoints.MaxBy(c => c.Step);
        if (found is null)
        {
            var held = checkpoints.Count == 0 ? "it has none" : "its steps: " + string.Join(", ", checkpoints.Select(c => c.Step));
            throw new CohortApiException(ApiError.NotFound, step is null
                ? $"{Operation}: peer '{peer}' of cohort '{cohort}' has no checkpoint yet"
                : $"{Operation}: peer '{peer}' of cohort '{cohort}' has no checkpoint of step {step} ({held})");
        }

        return found;
    }

    /// <summary>The worker silos of the cluster now, by id: their slots and the peer in each.</summary>
    public async Task<IReadOnlyList<WorkerView>> ListWorkersAsync()
    {
        IReadOnlyList<Cluster.Placement.WorkerEntry> entries;
        try
        {
            entries = await grains.GetGrain<ISlotBoardGrain>(ISlotBoardGrain.Key).WorkersAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CohortApiException(ApiError.Unavailable, $"ListWorkers: the slot board cannot be reached now ({e.GetType().Name}: {e.Message}); try again");
        }

        return entries.Select(w => new WorkerView(
            w.Worker,
            w.Silo,
            w.TakesPeers,
            w.Slots.Select(s => w.Holders.FirstOrDefault(h => h.Slot == s.Index) is { } holder
                ? new WorkerSlotView(s.Index, s.Device, holder.Peer, holder.Started)
                : new WorkerSlotView(s.Index, s.Device, null, false)).ToList())).ToList();
    }

    /// <summary>The status of one run; an empty run id means the cohort's latest run.</summary>
    public async Task<RunView> GetAsync(ApiCaller caller, string operation, string cohort, string run, CancellationToken cancellationToken)
    {
        var entry = await ResolveAsync(caller, operation, cohort, run).ConfigureAwait(false);
        return await ReadAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One page of the runs that <paramref name="filter"/> selects, most recently submitted first, and
    /// the cursor of the next page (null on the last).
    /// </summary>
    public async Task<RunList> ListAsync(ApiCaller caller, RunFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.PageSize is < 1 or > MaxPageSize)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"ListCohorts: page size: must be 1 to {MaxPageSize}, got {filter.PageSize}");
        }

        long? after = null;
        if (!string.IsNullOrEmpty(filter.Cursor))
        {
            after = RunCursor.Parse(filter.Cursor)
                ?? throw new CohortApiException(ApiError.InvalidArgument, "ListCohorts: cursor: not a cursor this API gave (pass next_cursor of the previous page as it is)");
        }

        var entries = (await Index.ListAsync().ConfigureAwait(false)).Where(e => caller.Sees(e.Project)).ToList();
        var page = new List<RunView>(Math.Min(filter.PageSize, entries.Count));
        foreach (var entry in entries)
        {
            if ((after is { } a && entry.Sequence >= a) || (filter.Cohort is { Length: > 0 } cohort && entry.Cohort != cohort))
            {
                continue;
            }

            if (page.Count == filter.PageSize)
            {
                return new RunList(page, RunCursor.Format(entries.First(e => e.Run == page[^1].Run && e.Cohort == page[^1].Cohort).Sequence));
            }

            var status = await ReadAsync(entry, cancellationToken).ConfigureAwait(false);
            if (filter.State is null || status.State == filter.State)
            {
                page.Add(status);
            }
        }

        return new RunList(page, null);
    }

    /// <summary>
    /// The status of one run now and again every time it changes, until the status that reports its
    /// end. With <paramref name="afterVersion"/> (a watch resumed after a disconnect), statuses of that
    /// version or older are not sent again, except the final one of a run that has ended.
    /// </summary>
    public async IAsyncEnumerable<RunView> WatchAsync(ApiCaller caller, string cohort, string run, long? afterVersion, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var entry = await ResolveAsync(caller, "WatchCohort", cohort, run).ConfigureAwait(false);
        long? last = afterVersion;
        while (!cancellationToken.IsCancellationRequested)
        {
            RunView status;
            try
            {
                status = await ReadAsync(entry, cancellationToken).ConfigureAwait(false);
            }
            catch (CohortApiException e) when (e.Error == ApiError.Unavailable)
            {
                // The cohort's silo is being replaced; its grain answers again shortly.
                await Task.Delay(options.WatchInterval, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (status.Version != last && (afterVersion is null || status.Version > afterVersion || status.IsFinished))
            {
                last = status.Version;
                yield return status;
            }
            else if (status.IsFinished && afterVersion is not null && last == afterVersion)
            {
                // Resumed after the final status: it is sent once more, so the client hears the end.
                yield return status;
            }

            if (status.IsFinished)
            {
                yield break;
            }

            await Task.Delay(options.WatchInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Cancels a run; the run after the call (a run that had ended keeps its state). With
    /// <paramref name="expectedVersion"/>, refused (<see cref="ApiError.StaleVersion"/>) unless the
    /// run's status is still that version.
    /// </summary>
    public Task<RunView> CancelAsync(ApiCaller caller, string cohort, string run, string reason, long? expectedVersion, CancellationToken cancellationToken) =>
        AuditedAsync(caller, "CancelCohort", cohort, run, () => CancelCoreAsync(caller, cohort, run, reason, expectedVersion, cancellationToken));

    private async Task<RunView> CancelCoreAsync(ApiCaller caller, string cohort, string run, string reason, long? expectedVersion, CancellationToken cancellationToken)
    {
        var entry = await ResolveAsync(caller, "CancelCohort", cohort, run).ConfigureAwait(false);
        var status = await StatusAsync(entry, cancellationToken).ConfigureAwait(false);
        if (expectedVersion is { } expected && expected != status.Version)
        {
            throw new CohortApiException(ApiError.StaleVersion, $"CancelCohort: cohort '{entry.Cohort}' run '{entry.Run}' is at version {status.Version}, not {expected}; read it again and decide again");
        }

        if (status.IsFinished)
        {
            return status;
        }

        try
        {
            await Cohort(entry.Cohort, entry.Run).CancelAsync(string.IsNullOrWhiteSpace(reason) ? "cancelled by request" : reason.Trim(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not CohortApiException)
        {
            throw new CohortApiException(ApiError.Unavailable, $"CancelCohort: cohort '{entry.Cohort}' run '{entry.Run}' cannot be reached now ({e.Message}); try again");
        }

        return await StatusAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Pauses a running run: every peer stops at one step none had started, checkpoints it and
    /// releases its slot. Answers once every peer has stopped (or after <see cref="PauseWait"/>),
    /// with that step. FailedPrecondition for a run that is paused or has ended.
    /// </summary>
    public Task<SteerResult> PauseAsync(ApiCaller caller, string cohort, string run, CancellationToken cancellationToken) =>
        AuditedAsync(caller, "PauseCohort", cohort, run, () => PauseCoreAsync(caller, cohort, run, cancellationToken));

    private async Task<SteerResult> PauseCoreAsync(ApiCaller caller, string cohort, string run, CancellationToken cancellationToken)
    {
        const string Operation = "PauseCohort";
        var entry = await ResolveAsync(caller, Operation, cohort, run).ConfigureAwait(false);
        var reply = await SteerAsync(Operation, entry, g => g.PauseAsync(cancellationToken)).ConfigureAwait(false);
        var deadline = time.GetUtcNow() + PauseWait;
        var status = await StatusAsync(entry, cancellationToken).ConfigureAwait(false);
        while (status.State == RunState.Paused && status.Peers.Any(p => p.State is Model.PeerState.Active or Model.PeerState.Stalled) && time.GetUtcNow() < deadline)
        {
            await Task.Delay(options.WatchInterval, cancellationToken).ConfigureAwait(false);
            status = await StatusAsync(entry, cancellationToken).ConfigureAwait(false);
        }

        return new SteerResult(status, reply.Step);
    }

    /// <summary>Resumes a paused run from its pause step (the result's step); FailedPrecondition for a run that is not paused.</summary>
    public Task<SteerResult> ResumeAsync(ApiCaller caller, string cohort, string run, CancellationToken cancellationToken) =>
        AuditedAsync(caller, "ResumeCohort", cohort, run, () => ResumeCoreAsync(caller, cohort, run, cancellationToken));

    private async Task<SteerResult> ResumeCoreAsync(ApiCaller caller, string cohort, string run, CancellationToken cancellationToken)
    {
        const string Operation = "ResumeCohort";
        var entry = await ResolveAsync(caller, Operation, cohort, run).ConfigureAwait(false);
        var reply = await SteerAsync(Operation, entry, g => g.ResumeAsync(cancellationToken)).ConfigureAwait(false);
        return new SteerResult(await StatusAsync(entry, cancellationToken).ConfigureAwait(false), reply.Step);
    }

    /// <summary>
    /// A live change of a run, as YAML or JSON with the fields of an entry of the spec's
    /// <c>changes</c> without its step (e.g. <c>{distillation: {alpha: 0.5}}</c>): read against the
    /// run's spec (InvalidArgument naming each field that may not change, and why), then applied by
    /// every peer at the step the result names. FailedPrecondition for a run that has ended.
    /// </summary>
    public Task<SteerResult> UpdateAsync(ApiCaller caller, string cohort, string run, string changeText, CancellationToken cancellationToken) =>
        AuditedAsync(caller, "UpdateCohort", cohort, run, () => UpdateCoreAsync(caller, cohort, run, changeText, cancellationToken), changeText);

    private async Task<SteerResult> UpdateCoreAsync(ApiCaller caller, string cohort, string run, string changeText, CancellationToken cancellationToken)
    {
        const string Operation = "UpdateCohort";
        if (string.IsNullOrWhiteSpace(changeText))
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"{Operation}: change is empty; send the fields to change, e.g. {{distillation: {{alpha: 0.5}}}}");
        }

        var entry = await ResolveAsync(caller, Operation, cohort, run).ConfigureAwait(false);
        var record = await RecordAsync(entry, cancellationToken).ConfigureAwait(false);
        var spec = record is null ? null : SpecLoader.ParseWithoutEngine(record.SpecText, "spec." + record.SpecFormat).Spec;
        if (spec is null)
        {
            throw new CohortApiException(ApiError.FailedPrecondition, $"{Operation}: cohort '{entry.Cohort}' run '{entry.Run}' has no spec to change (it never started)");
        }

        var loaded = CohortChanges.ParseUpdate(changeText, spec);
        if (loaded.Change is not { } change)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"{Operation}: " + string.Join('\n', loaded.Errors)) { SpecErrors = loaded.Errors };
        }

        return await UpdateAsync(entry, change, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A live change given as the domain record (its step is ignored: the cohort announces it); as <see cref="UpdateAsync(ApiCaller, string, string, string, CancellationToken)"/>.</summary>
    public Task<SteerResult> UpdateAsync(ApiCaller caller, string cohort, string run, CohortChange change, CancellationToken cancellationToken) =>
        AuditedAsync(caller, "UpdateCohort", cohort, run, () => UpdateCoreAsync(caller, cohort, run, change, cancellationToken));

    private async Task<SteerResult> UpdateCoreAsync(ApiCaller caller, string cohort, string run, CohortChange change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        var entry = await ResolveAsync(caller, "UpdateCohort", cohort, run).ConfigureAwait(false);
        return await UpdateAsync(entry, change, cancellationToken).ConfigureAwait(false);
    }

    private async Task<SteerResult> UpdateAsync(RunEntry entry, CohortChange change, CancellationToken cancellationToken)
    {
        var reply = await SteerAsync("UpdateCohort", entry, g => g.UpdateAsync(change with { Step = 0 }, cancellationToken)).ConfigureAwait(false);
        return new SteerResult(await StatusAsync(entry, cancellationToken).ConfigureAwait(false), reply.Step);
    }

    /// <summary>A pause, resume or change of the run's grain; its refusals as <see cref="CohortApiException"/>s.</summary>
    private async Task<SteerReply> SteerAsync(string operation, RunEntry entry, Func<ICohortGrain, Task<SteerReply>> call)
    {
        SteerReply reply;
        try
        {
            reply = await call(Cohort(entry.Cohort, entry.Run)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CohortApiException(ApiError.Unavailable, $"{operation}: cohort '{entry.Cohort}' run '{entry.Run}' cannot be reached now ({e.GetType().Name}: {e.Message}); try again");
        }

        return reply.Outcome switch
        {
            SteerOutcome.Done => reply,
            SteerOutcome.NotAllowed => throw new CohortApiException(ApiError.FailedPrecondition, $"{operation}: {reply.Message}"),
            SteerOutcome.Invalid => throw new CohortApiException(ApiError.InvalidArgument, $"{operation}: {reply.Message}"),
            _ => throw new CohortApiException(ApiError.Unavailable, $"{operation}: {reply.Message}"),
        };
    }

    private async Task<CohortRecord?> RecordAsync(RunEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            return await Cohort(entry.Cohort, entry.Run).GetStatusAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CohortApiException(ApiError.Unavailable, $"cohort '{entry.Cohort}' run '{entry.Run}' cannot be reached now ({e.GetType().Name}: {e.Message}); try again");
        }
    }

    /// <summary>
    /// The status of a run for a read: one grain call serves every get, list and watch of the run
    /// within <see cref="ApiOptions.ReadCacheAge"/> (the cohort grain lives on a worker, whose cores
    /// train: a dashboard polling a run a hundred times a second should not cost it a hundred grain
    /// calls). A failed read is not kept. Changes, and their checks of a version, read
    /// <see cref="StatusAsync"/> itself.
    /// </summary>
    private Task<RunView> ReadAsync(RunEntry entry, CancellationToken cancellationToken)
    {
        var key = (entry.Cohort, entry.Run);
        var now = time.GetUtcNow();
        if (_reads.TryGetValue(key, out var read) && now - read.Taken < options.ReadCacheAge && !read.View.IsFaulted && !read.View.IsCanceled)
        {
            return read.View.WaitAsync(cancellationToken);
        }

        // Not cancelled with this caller: other readers may share it.
        var view = StatusAsync(entry, CancellationToken.None);
        _reads[key] = (view, now);
        return view.WaitAsync(cancellationToken);
    }

    private async Task<RunView> StatusAsync(RunEntry entry, CancellationToken cancellationToken)
    {
        CohortRecord? status;
        try
        {
            status = await Cohort(entry.Cohort, entry.Run).GetStatusAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CohortApiException(ApiError.Unavailable, $"cohort '{entry.Cohort}' run '{entry.Run}' cannot be reached now ({e.GetType().Name}: {e.Message}); try again");
        }

        return RunViews.From(status ?? new CohortRecord { Cohort = entry.Cohort, Run = entry.Run, State = entry.State });
    }

    private async Task<RunEntry> ResolveAsync(ApiCaller caller, string operation, string cohort, string run)
    {
        if (string.IsNullOrWhiteSpace(cohort))
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"{operation}: cohort is empty; name the cohort (and optionally the run)");
        }

        // A caller confined to a project sees only its runs: another project's runs answer as absent.
        var entries = (await Index.ListAsync().ConfigureAwait(false)).Where(e => caller.Sees(e.Project)).ToList();
        var runs = entries.Where(e => e.Cohort == cohort).ToList();
        if (runs.Count == 0)
        {
            var known = entries.Select(e => e.Cohort).Distinct().ToList();
            throw new CohortApiException(ApiError.NotFound, $"{operation}: no cohort named '{Echo(cohort)}'" + (known.Count > 0 ? $" (known: {Some(known)})" : " (no cohort has been submitted)"));
        }

        if (string.IsNullOrEmpty(run))
        {
            return runs[0];
        }

        return runs.FirstOrDefault(r => r.Run == run)
            ?? throw new CohortApiException(ApiError.NotFound, $"{operation}: cohort '{cohort}' has no run '{Echo(run)}' (its runs: {Some(runs.Select(r => r.Run).ToList())})");
    }

    private async Task<T> AuditedAsync<T>(ApiCaller caller, string action, string cohort, string run, Func<Task<T>> act, string? detail = null)
    {
        try
        {
            T result;
            try
            {
                result = await act().ConfigureAwait(false);
            }
            finally
            {
                // A change made through the API is seen by every read after it.
                _reads.Clear();
            }

            await RecordAsync(caller, action, "ok", cohort, run, detail).ConfigureAwait(false);
            return result;
        }
        catch (CohortApiException e)
        {
            await RecordAsync(caller, action, Outcome(e.Error), cohort, run, e.Message).ConfigureAwait(false);
            throw;
        }
    }

    private Task RecordAsync(ApiCaller caller, string action, string outcome, string? cohort, string? run, string? detail) =>
        audit is null || ReferenceEquals(caller, ApiCaller.Coordinator) ? Task.CompletedTask : audit.RecordAsync(caller, action, outcome, cohort, string.IsNullOrEmpty(run) ? null : run, detail: detail);

    /// <summary>A refusal as the audit trail names it.</summary>
    private static string Outcome(ApiError error) => error switch
    {
        ApiError.InvalidArgument => "invalid_argument",
        ApiError.NotFound => "not_found",
        ApiError.AlreadyExists => "already_exists",
        ApiError.Unavailable => "unavailable",
        ApiError.StaleVersion => "stale_version",
        ApiError.KeyReused => "key_reused",
        ApiError.FailedPrecondition => "failed_precondition",
        ApiError.PermissionDenied => "denied",
        _ => "refused",
    };

    /// <summary>A name from a request, as an error message repeats it: at most 100 characters (a name the API knows is never longer).</summary>
    internal static string Echo(string name) => name.Length <= 100 ? name : string.Create(CultureInfo.InvariantCulture, $"{name[..100]}... ({name.Length} characters)");

    /// <summary>The first ten of <paramref name="names"/>, and how many more, for an error message.</summary>
    private static string Some(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(10)) + (names.Count > 10 ? string.Create(CultureInfo.InvariantCulture, $" and {names.Count - 10} more") : string.Empty);

    /// <summary>What identifies a submission under an idempotency key: its format and spec text.</summary>
    private static string Digest(string format, string specText) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(format + "\n" + specText)));

    private ICohortGrain Cohort(string cohort, string run) => grains.GetGrain<ICohortGrain>(GrainKeys.Cohort(cohort, run));

    /// <summary>
    /// Where a submitted cohort writes, always under the roots (the client names the cohort, not the
    /// place): output &lt;output root&gt;/&lt;cohort&gt;/&lt;run&gt;, or &lt;output&gt;/&lt;run&gt; for an
    /// absolute <c>output</c> under the output root; checkpoints under the checkpoint root, at the
    /// spec's <c>checkpoints.directory</c> if it gives one. InvalidArgument, naming the field, for a
    /// place outside the roots.
    /// </summary>
    private (string Output, string? Checkpoints) ConfinedDirectories(CohortSpec spec)
    {
        string output;
        if (spec.Output is { } given && Path.IsPathRooted(given))
        {
            output = Path.GetFullPath(given);
            Confine("output", given, output, _outputRoot, "output root");
        }
        else
        {
            output = Path.Combine(_outputRoot, spec.Cohort);
            Confine("cohort", spec.Cohort, output, _outputRoot, "output root");
        }

        string? checkpoints = null;
        if (spec.Checkpoints.Directory is { Length: > 0 } directory)
        {
            checkpoints = Path.GetFullPath(Path.IsPathRooted(directory) ? directory : Path.Combine(_checkpointRoot, directory));
            Confine("checkpoints.directory", directory, checkpoints, _checkpointRoot, "checkpoint root");
        }

        return (output, checkpoints);
    }

    private static void Confine(string field, string given, string resolved, string root, string rootName)
    {
        bool inside;
        try
        {
            inside = ConfinedPath.IsUnder(resolved, root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"Submit: {field}: cannot resolve '{given}': {e.Message}");
        }

        if (!inside)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"Submit: {field}: '{given}' is outside the coordinator's {rootName} '{root}'; a submitted cohort writes only under it (leave {field} out, or name a place under it)");
        }
    }
}
