using PeerDistill.Core.Telemetry;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;
using PeerDistill.Core.Runner;

namespace PeerDistill.Cluster.Grains;

/// <summary>
/// A cohort run's grain, on a worker silo. Its state is written to the cluster's grain storage
/// (off this silo) at every placement, generation or state change and at most every
/// <see cref="ProgressSaveInterval"/> for progress, so that when this silo dies the grain comes
/// back on another (at the next report of one of its peers) where it left off. A timer
/// (<see cref="TickInterval"/>) re-activates the peers of silos that Orleans membership declared
/// dead and places the peers that wait for a slot.
/// </summary>
[WorkerPlacement]
internal sealed partial class CohortGrain(
    [PersistentState("cohort", ClusterDatabase.GrainStorageName)] IPersistentState<CohortRecord> state,
    IClusterMembershipService membership,
    Exchange.TicketKeyring tickets,
    TimeProvider time,
    ILogger<CohortGrain> logger) : Grain, ICohortGrain
{
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a peer's silo that this cluster does not know (one of the cluster before a coordinator
    /// restart) may stay unknown before its peers count as lost, unless its worker joins again first.
    /// Its process notices the new coordinator within <see cref="CoordinatorWatch.Patience"/>, stops its
    /// peers with a checkpoint (at most <see cref="WorkerNode.PeerStopTimeout"/>) and only then joins
    /// again: re-placing a peer before that would start it from an older checkpoint while the old
    /// generation still trains and writes.
    /// </summary>
    public static readonly TimeSpan UnknownSiloGrace = CoordinatorWatch.Patience + WorkerNode.PeerStopTimeout + WorkerNode.ShutdownTimeout;

    private readonly Dictionary<string, DateTimeOffset> _unknownSince = new(StringComparer.Ordinal);
    public static readonly TimeSpan ProgressSaveInterval = TimeSpan.FromSeconds(2);

    /// <summary>How long starting a peer on its silo may take (placement, activation, reading its spec and data).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How long a cancel waits for its peers to have stopped before it answers.</summary>
    public static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(3);

    /// <summary>How many rounds of holds a pause or live change tries before it answers Busy (each proposes a step further on).</summary>
    public const int AgreementRounds = 6;

    /// <summary>The first proposal's distance (in steps) beyond the furthest step reported; it doubles every round.</summary>
    public const long AgreementMargin = 2;

    private CohortLifecycle? _life;

    // The expiry of the newest ticket issued to each peer's generation (by this activation).
    private readonly Dictionary<string, (ulong Generation, long ExpiresUnixMs)> _issued = new(StringComparer.Ordinal);
    private IGrainTimer? _timer;
    private DateTimeOffset _lastSave;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.RecordExists && state.State.IsStarted)
        {
            _life = new CohortLifecycle(state.State, time);
            ClusterTelemetry.Hold(_life.Record);
            LogResumed(logger, state.State.Cohort, state.State.Run, States.Name(state.State.State), RuntimeIdentity);
            if (!state.State.IsFinished)
            {
                StartTimer();
            }
        }

        return Task.CompletedTask;
    }

    public async Task StartAsync(CohortSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        if (_life is not null)
        {
            if (_life.Record.Run == submission.Run && _life.Record.Cohort == submission.Cohort)
            {
                return;
            }

            throw new InvalidOperationException($"cohort grain '{this.GetPrimaryKeyString()}' holds run '{_life.Record.Run}' already");
        }

        // The run's span: a child of the submitting call's (the API request), parent of every placement and peer activation.
        using var span = ClusterTelemetry.Source.StartActivity(SpanNames.CohortRun, ActivityKind.Internal);
        span?.SetTag(TelemetryAttributes.Cohort, submission.Cohort);
        span?.SetTag(TelemetryAttributes.Run, submission.Run);
        span?.SetTag(TelemetryAttributes.Teachers, submission.Peers.Count);
        _life = CohortLifecycle.Start(submission, time);
        _life.Record.TraceParent = Exchange.TraceContext.Of(span);
        ClusterTelemetry.Hold(_life.Record);
        state.State = _life.Record;
        LogSubmitted(logger, submission.Cohort, submission.Run, submission.Peers.Count, submission.OutputDirectory);
        await SaveAsync(force: true);
        // The peers are placed by the timer's first tick, right after this call: a submission is
        // answered once its run is recorded, however long placing takes (workers' silos and the
        // database slow under load took over the 10 s a grain call may wait, and the API then
        // reported a run as not started that its grain went on placing).
        StartTimer(TimeSpan.Zero);
        await AfterChangeAsync();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Its peers are counted by the silo that holds the grain: one that lets go stops counting them.
        if (_life is { } life)
        {
            ClusterTelemetry.Forget(life.Record.Cohort, life.Record.Run);
        }

        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    public Task<CohortRecord?> GetStatusAsync(CancellationToken cancellationToken) => Task.FromResult(_life?.Record);

    public async Task<CohortState> CancelAsync(string reason, CancellationToken cancellationToken)
    {
        if (_life is null)
        {
            throw new InvalidOperationException($"cohort grain '{this.GetPrimaryKeyString()}' has no run");
        }

        var running = _life.Cancel(reason);
        LogCancelled(logger, _life.Record.Cohort, _life.Record.Run, reason);
        await AfterChangeAsync();
        var stops = running.Select(async p =>
        {
            try
            {
                await Peer(p).StopAsync(p.Generation, checkpoint: true, "cancelled: " + reason, CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogStopFailed(logger, p.Name, e.Message);
            }
        });
        // The run is cancelled (and stored) already; the stops go on in the background past this
        // bound (a peer on a silo that stopped answering would hold the call up to the response
        // timeout), and a peer that was not reached is told to stop at its next report.
        await Task.WhenAny(Task.WhenAll(stops), Task.Delay(CancelWait, cancellationToken));
        return _life.Record.State;
    }

    public async Task<bool> ForgetAsync(CancellationToken cancellationToken)
    {
        if (_life is { Record.IsFinished: false })
        {
            return false;
        }

        _timer?.Dispose();
        _timer = null;
        ClusterTelemetry.Forget(_life!.Record.Cohort, _life.Record.Run);
        _life = null;
        await state.ClearStateAsync();
        DeactivateOnIdle();
        return true;
    }

    public async Task<SteerReply> PauseAsync(CancellationToken cancellationToken)
    {
        var life = Life();
        var record = life.Record;
        if (life.PauseRefusal() is { } refused)
        {
            return refused;
        }

        var (peers, step, refusal) = await AgreeAsync("pause", cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        life.Pause(step);
        LogPaused(logger, record.Cohort, record.Run, step);
        await SaveAsync(force: true);
        await AfterChangeAsync();
        foreach (var peer in peers!)
        {
            try
            {
                if (!await Peer(peer).CommitPauseAsync(peer.Generation, step, cancellationToken))
                {
                    LogCommitFailed(logger, peer.Name, "pause", "its generation no longer runs there");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCommitFailed(logger, peer.Name, "pause", e.Message);
            }
        }

        return new SteerReply(SteerOutcome.Done, string.Empty, step);
    }

    public async Task<SteerReply> ResumeAsync(CancellationToken cancellationToken)
    {
        var life = Life();
        var record = life.Record;
        if (life.ResumeRefusal() is { } refused)
        {
            return refused;
        }

        var step = life.Resume();
        LogResumedFromPause(logger, record.Cohort, record.Run, step);
        await SaveAsync(force: true);
        StartTimer();
        await PlaceWaitingAsync(cancellationToken);
        await AfterChangeAsync();
        return new SteerReply(SteerOutcome.Done, string.Empty, step);
    }

    public async Task<SteerReply> UpdateAsync(Core.Spec.CohortChange change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        var life = Life();
        var record = life.Record;
        if (life.UpdateRefusal() is { } refused)
        {
            return refused;
        }

        if (Problems(record, change) is { } problem)
        {
            return new SteerReply(SteerOutcome.Invalid, problem, 0);
        }

        if (record.State == CohortState.Paused)
        {
            // No peer runs: the change holds from the step they all resume at.
            var at = record.PauseStep ?? 0;
            life.AddChange(change.At(at));
            LogChanged(logger, record.Cohort, record.Run, change.At(at).ToString());
            await AfterChangeAsync();
            return new SteerReply(SteerOutcome.Done, string.Empty, at);
        }

        var (peers, step, refusal) = await AgreeAsync("change", cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        var agreed = change.At(step);
        life.AddChange(agreed);
        LogChanged(logger, record.Cohort, record.Run, agreed.ToString());
        await SaveAsync(force: true);
        await AfterChangeAsync();
        foreach (var peer in peers!)
        {
            try
            {
                if (!await Peer(peer).CommitChangeAsync(peer.Generation, agreed, cancellationToken))
                {
                    LogCommitFailed(logger, peer.Name, "change", "its generation no longer runs there (its next one takes the change with its assignment)");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCommitFailed(logger, peer.Name, "change", e.Message);
            }
        }

        return new SteerReply(SteerOutcome.Done, string.Empty, step);
    }

    public async Task<ReportReply> ReportAsync(PeerReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (_life is null)
        {
            return new ReportReply(true, $"cohort grain '{this.GetPrimaryKeyString()}' has no run", []);
        }

        var before = _life.Record.FindPeer(report.Peer)?.State;
        var reply = _life.Apply(report);
        if (!reply.Stop && _life.Record.FindPeer(report.Peer) is { } reporter && reporter.Generation == report.Generation && States.IsTraining(report.State) && RenewalDue(reporter.Name, reporter.Generation))
        {
            try
            {
                reply = reply with { Ticket = await IssueAsync(reporter.Name, reporter.Generation) };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The key grain's silo may be going: the report is answered all the same, the ticket comes with a later one.
                LogRenewalFailed(logger, _life.Record.Cohort, _life.Record.Run, reporter.Name, e.GetType().Name, e.Message);
            }
        }

        if (_life.Record.FindPeer(report.Peer) is { } peer && before != peer.State)
        {
            if (peer.State == PeerState.Failed)
            {
                LogPeerFailed(logger, _life.Record.Cohort, _life.Record.Run, peer.Name, report.Message);
            }
            else if (peer.State == PeerState.Stalled)
            {
                LogPeerStalled(logger, _life.Record.Cohort, _life.Record.Run, peer.Name, report.Message);
            }
        }

        await AfterChangeAsync();
        return reply;
    }

    /// <summary>A new exchange ticket for that generation of the peer, signed with the cluster's key.</summary>
    private async Task<string> IssueAsync(string peer, ulong generation)
    {
        var codec = await tickets.CodecAsync(GrainFactory);
        var ticket = Exchange.ExchangeTicket.For(_life!.Record.Cohort, _life.Record.Run, peer, generation, time.GetUtcNow());
        _issued[peer] = (generation, ticket.ExpiresUnixMs);
        return codec.Issue(ticket);
    }

    /// <summary>
    /// Whether the peer's generation needs a fresh ticket: this activation issued it none (it came
    /// back after a restart or a move), or the newest has less than <see cref="Exchange.ExchangeTicket.RenewWithin"/> left.
    /// </summary>
    private bool RenewalDue(string peer, ulong generation) =>
        !_issued.TryGetValue(peer, out var issued) || issued.Generation != generation
        || issued.ExpiresUnixMs - time.GetUtcNow().ToUnixTimeMilliseconds() < (long)Exchange.ExchangeTicket.RenewWithin.TotalMilliseconds;

    private CohortLifecycle Life() => _life ?? throw new InvalidOperationException($"cohort grain '{this.GetPrimaryKeyString()}' has no run");

    /// <summary>Why <paramref name="change"/> does not fit the run's spec (its strategy), or null.</summary>
    private static string? Problems(CohortRecord record, Core.Spec.CohortChange change)
    {
        if (change.IsEmpty)
        {
            return "the change changes nothing";
        }

        var loaded = Core.Spec.SpecLoader.ParseWithoutEngine(record.SpecText, "spec." + record.SpecFormat);
        if (loaded.Spec is not { } spec)
        {
            return null;
        }

        var problems = Core.Spec.CohortChanges.Problems(spec, change);
        return problems.Count == 0 ? null : string.Join("; ", problems.Select(p => $"{p.Field}: {p.Message}"));
    }

    /// <summary>
    /// Agrees with every unfinished peer on a step none has started: proposes one a little beyond
    /// the furthest reported, asks each peer to hold before it (a promise not to start it until the
    /// decision), and when one has started it already, proposes again beyond the furthest step the
    /// refusals name (peers holding at the earlier proposal can always move on to the later one).
    /// On success every peer holds before the step; on failure every hold is released.
    /// </summary>
    private async Task<(IReadOnlyList<PeerRecord>? Peers, long Step, SteerReply? Refusal)> AgreeAsync(string what, CancellationToken cancellationToken)
    {
        var (peers, why) = _life!.Agreeing();
        if (peers is null)
        {
            return (null, 0, new SteerReply(SteerOutcome.Busy, why, 0));
        }

        var total = peers.Max(p => p.TotalSteps);
        var margin = AgreementMargin;
        var step = peers.Max(p => p.Step) + margin;
        for (var round = 0; round < AgreementRounds; round++)
        {
            if (total > 0 && step >= total)
            {
                await ReleaseHoldsAsync(peers);
                return (null, 0, new SteerReply(SteerOutcome.NotAllowed, $"the run ends at step {total} before a step every peer could still {what} at (step {step} or later)", 0));
            }

            HoldReply[] replies;
            try
            {
                replies = await Task.WhenAll(peers.Select(p => Peer(p).HoldAsync(p.Generation, step, cancellationToken)));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await ReleaseHoldsAsync(peers);
                return (null, 0, new SteerReply(SteerOutcome.Busy, $"a peer did not answer the {what} ({e.GetType().Name}: {e.Message}); try again", 0));
            }

            if (replies.FirstOrDefault(r => !r.Accepted && r.Message.Length > 0) is { } gone)
            {
                await ReleaseHoldsAsync(peers);
                return (null, 0, new SteerReply(SteerOutcome.Busy, $"{gone.Message}; try again", 0));
            }

            if (replies.All(r => r.Accepted))
            {
                LogAgreed(logger, _life.Record.Cohort, _life.Record.Run, what, step, round + 1);
                return (peers, step, null);
            }

            margin *= 2;
            step = replies.Max(r => r.StartedStep) + margin;
        }

        await ReleaseHoldsAsync(peers);
        return (null, 0, new SteerReply(SteerOutcome.Busy, $"the peers ran past every step proposed in {AgreementRounds} rounds; try again", 0));
    }

    private async Task ReleaseHoldsAsync(IEnumerable<PeerRecord> peers)
    {
        foreach (var peer in peers)
        {
            try
            {
                await Peer(peer).ReleaseHoldAsync(peer.Generation, CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCommitFailed(logger, peer.Name, "release", e.Message);
            }
        }
    }

    /// <summary>Starts the timer that places waiting peers and checks silos, first after <paramref name="due"/> (default: one interval).</summary>
    private void StartTimer(TimeSpan? due = null) =>
        _timer ??= this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(due ?? TickInterval, TickInterval) { KeepAlive = true });

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        if (_life is null || _life.Record.IsFinished)
        {
            return;
        }

        CheckSilos();
        await PlaceWaitingAsync(cancellationToken);
        await AfterChangeAsync();
    }

    /// <summary>
    /// The peers on silos that Orleans declared dead (or that left the cluster) are lost: their next
    /// generations wait for slots. A silo this cluster has never known (after a coordinator restart)
    /// is lost once its worker has joined again with another silo (it stopped its peers with a
    /// checkpoint before it left), or after <see cref="UnknownSiloGrace"/>.
    /// </summary>
    private void CheckSilos()
    {
        var snapshot = membership.CurrentSnapshot;
        var now = time.GetUtcNow();
        foreach (var group in _life!.Record.Peers.Where(p => p.HoldsSlot && p.Silo is not null).GroupBy(p => p.Silo!).ToList())
        {
            var worker = group.First().WorkerId;
            var status = snapshot.GetSiloStatus(SiloAddress.FromParsableString(group.Key));
            string? why = null;
            if (status is SiloStatus.Dead)
            {
                why = $"worker '{worker}' lost: Orleans membership declared its silo {group.Key} dead";
            }
            else if (status is SiloStatus.None)
            {
                var firstSeen = _unknownSince.TryGetValue(group.Key, out var seen) ? seen : _unknownSince[group.Key] = now;
                if (snapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && m.Name == worker && m.SiloAddress.ToParsableString() != group.Key))
                {
                    why = $"worker '{worker}' came back with another silo: its silo {group.Key} (of the cluster before the coordinator restarted) stopped its peers with a checkpoint";
                }
                else if (now - firstSeen >= UnknownSiloGrace)
                {
                    why = $"worker '{worker}' lost: its silo {group.Key} (of the cluster before the coordinator restarted) has not come back in {UnknownSiloGrace.TotalSeconds:0} s";
                }
            }

            if (why is not null)
            {
                _unknownSince.Remove(group.Key);
                var lost = _life.LoseSilo(group.Key, why);
                LogSiloLost(logger, _life.Record.Cohort, _life.Record.Run, worker ?? group.Key, string.Join(", ", lost));
            }
        }
    }

    /// <summary>Starts each waiting peer's generation on a free slot of its device (from its newest checkpoint if it ran before).</summary>
    private async Task PlaceWaitingAsync(CancellationToken cancellationToken)
    {
        var board = GrainFactory.GetGrain<ISlotBoardGrain>(ISlotBoardGrain.Key);
        foreach (var peer in _life!.Waiting())
        {
            if (!await board.HasFreeSlotAsync(peer.Device))
            {
                _life.StartFailed(peer, $"waiting for a free '{peer.Device}' slot");
                continue;
            }

            var assignment = _life.AssignmentFor(peer, NewestCheckpoint(peer));
            // In the run's trace, under its stored context: placements happen on the timer (the first right
            // after the submission, re-activations later), whose own activity is Orleans', not the run's.
            var run = Exchange.TraceContext.Parse(_life.Record.TraceParent);
            using var span = ClusterTelemetry.Source.StartActivity(SpanNames.Placement, ActivityKind.Internal, run != default ? run : Activity.Current?.Context ?? default);
            span?.SetTag(TelemetryAttributes.Peer, peer.Name);
            span?.SetTag(TelemetryAttributes.Generation, (long)peer.Generation);
            span?.SetTag(TelemetryAttributes.Device, peer.Device);
            var runTags = ClusterTelemetry.RunTags(_life.Record.Cohort, _life.Record.Run);
            RequestContext.Set(PlacementKeys.Device, peer.Device);
            if (peer.AvoidWorkerId is { } avoid)
            {
                RequestContext.Set(PlacementKeys.AvoidWorker, avoid);
            }

            try
            {
                // Its ticket in the try: a key grain that cannot answer now is a start that failed (placed again later).
                assignment = assignment with { Ticket = await IssueAsync(peer.Name, peer.Generation) };
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(StartTimeout);
                var started = await Peer(peer).StartAsync(assignment, timeout.Token);
                _life.Placed(peer, assignment, started);
                span?.SetTag(TelemetryAttributes.Worker, started.WorkerId);
                if (peer.Generation > 1)
                {
                    ClusterTelemetry.Reactivations.Add(1, runTags);
                }

                LogPlaced(logger, _life.Record.Cohort, _life.Record.Run, peer.Name, peer.Generation, started.WorkerId, started.Slot, assignment.ResumeFromStep is { } s ? $"resuming from step {s}" : "from scratch");
            }
            catch (SlotUnavailableException e)
            {
                span?.SetStatus(ActivityStatusCode.Error, e.Message);
                ClusterTelemetry.PlacementFailures.Add(1, runTags);
                _life.StartFailed(peer, e.Message);
            }
            catch (PeerStartException e)
            {
                span?.SetStatus(ActivityStatusCode.Error, e.Message);
                LogPeerFailed(logger, _life.Record.Cohort, _life.Record.Run, peer.Name, e.Message);
                _life.Unrunnable(peer, $"peer '{peer.Name}' cannot start: {e.Message}");
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A silo that died while the peer was being placed, a timeout: it waits and is placed again.
                span?.SetStatus(ActivityStatusCode.Error, e.Message);
                ClusterTelemetry.PlacementFailures.Add(1, runTags);
                _life.StartFailed(peer, $"waiting for a slot: the last start failed ({e.GetType().Name}: {e.Message})");
            }
            finally
            {
                RequestContext.Remove(PlacementKeys.Device);
                RequestContext.Remove(PlacementKeys.AvoidWorker);
            }
        }
    }

    /// <summary>The steps of the peer's newest checkpoint on disk (the checkpoint store's layout under the run's checkpoint directory), or null.</summary>
    private long? NewestCheckpoint(PeerRecord peer)
    {
        var run = _life!.Record;
        try
        {
            var checkpoints = new CheckpointStore(run.CheckpointDirectory, run.Run, run.KeepLast).List(peer.Name);
            return checkpoints.Count > 0 ? checkpoints[^1].Step : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogCheckpointListFailed(logger, peer.Name, run.CheckpointDirectory, e.Message);
            return null;
        }
    }

    private async Task AfterChangeAsync()
    {
        var life = _life!;
        var ended = life.JustFinished;
        if (ended)
        {
            life.SummaryHandled();
            var record = life.Record;
            LogFinished(logger, record.Cohort, record.Run, States.Name(record.State), ((record.FinishedUnixMillis ?? record.CreatedUnixMillis) - record.CreatedUnixMillis) / 1000.0);
            try
            {
                LogSummaryWritten(logger, SummaryFile.Write(record));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                LogSummaryFailed(logger, record.OutputDirectory, e.Message);
            }

            _timer?.Dispose();
            _timer = null;
        }

        var durable = life.Durable;
        await SaveAsync(force: false);
        if (durable || ended)
        {
            await GrainFactory.GetGrain<ICohortIndexGrain>(ICohortIndexGrain.Key).UpdateAsync(life.Record.Cohort, life.Record.Run, life.Record.State);
        }
    }

    private async Task SaveAsync(bool force)
    {
        var life = _life!;
        var now = time.GetUtcNow();
        if (force || life.Durable || (life.Dirty && now - _lastSave >= ProgressSaveInterval))
        {
            await state.WriteStateAsync();
            life.Saved();
            _lastSave = now;
        }
    }

    private IPeerGrain Peer(PeerRecord peer) => GrainFactory.GetGrain<IPeerGrain>(GrainKeys.Peer(_life!.Record.Cohort, _life.Record.Run, peer.Name));

    [LoggerMessage(Level = LogLevel.Information, Message = "cohort '{Cohort}' run '{Run}' submitted: {Peers} peer(s), output {Output}")]
    private static partial void LogSubmitted(ILogger logger, string cohort, string run, int peers, string output);

    [LoggerMessage(Level = LogLevel.Information, Message = "cohort '{Cohort}' run '{Run}' ({State}) carries on from its stored state on {Silo}")]
    private static partial void LogResumed(ILogger logger, string cohort, string run, string state, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "placed '{Peer}' of cohort '{Cohort}' run '{Run}' generation {Generation} on worker '{Worker}' slot {Slot}, {Resume}")]
    private static partial void LogPlaced(ILogger logger, string cohort, string run, string peer, ulong generation, string worker, int slot, string resume);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cohort '{Cohort}' run '{Run}': worker '{Worker}' lost, peers {Peers} recover elsewhere")]
    private static partial void LogSiloLost(ILogger logger, string cohort, string run, string worker, string peers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cohort '{Cohort}' run '{Run}': peer '{Peer}' failed: {Message}")]
    private static partial void LogPeerFailed(ILogger logger, string cohort, string run, string peer, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cohort '{Cohort}' run '{Run}': peer '{Peer}' stalled: {Message}")]
    private static partial void LogPeerStalled(ILogger logger, string cohort, string run, string peer, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "cohort '{Cohort}' run '{Run}' cancelled: {Reason}")]
    private static partial void LogCancelled(ILogger logger, string cohort, string run, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stopping peer '{Peer}' failed: {Message}")]
    private static partial void LogStopFailed(ILogger logger, string peer, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "cohort '{Cohort}' run '{Run}' {State} after {Seconds:0.0} s")]
    private static partial void LogFinished(ILogger logger, string cohort, string run, string state, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "cohort '{Cohort}' run '{Run}': its peers agreed to {What} at step {Step} (round {Round})")]
    private static partial void LogAgreed(ILogger logger, string cohort, string run, string what, long step, int round);

    [LoggerMessage(Level = LogLevel.Information, Message = "cohort '{Cohort}' run '{Run}' pauses at step {Step}")]
    private static partial void LogPaused(ILogger logger, string cohort, string run, long step);

    [LoggerMessage(Level = LogLevel.Information, Message = "cohort '{Cohort}' run '{Run}' resumes from step {Step}")]
    private static partial void LogResumedFromPause(ILogger logger, string cohort, string run, long step);

    [LoggerMessage(Level = LogLevel.Information, Message = "cohort '{Cohort}' run '{Run}' changes: {Change}")]
    private static partial void LogChanged(ILogger logger, string cohort, string run, string change);

    [LoggerMessage(Level = LogLevel.Warning, Message = "peer '{Peer}' did not take the {What}: {Message}")]
    private static partial void LogCommitFailed(ILogger logger, string peer, string what, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not renew the exchange ticket of '{Peer}' of cohort '{Cohort}' run '{Run}' ({Kind}: {Message}); the next report tries again")]
    private static partial void LogRenewalFailed(ILogger logger, string cohort, string run, string peer, string kind, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "wrote {Path}")]
    private static partial void LogSummaryWritten(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "could not write the summary under {Directory}: {Message}")]
    private static partial void LogSummaryFailed(ILogger logger, string directory, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not list the checkpoints of '{Peer}' under {Directory}: {Message}")]
    private static partial void LogCheckpointListFailed(ILogger logger, string peer, string directory, string message);
}
