using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Grains;

/// <summary>
/// A peer's grain, on the silo and slot the slot placement director chose. The peer trains on a
/// thread of <see cref="SiloPeerHost"/>, never on the grain's scheduler; the grain starts and stops it
/// and reports its progress to the cohort grain every <see cref="ReportInterval"/>, whose reply
/// tells where the other peers are (or that this generation must stop). Reentrant: every call is
/// short, and a report in flight to the cohort never holds up the cohort's own calls here.
/// </summary>
[SlotPlacement, Reentrant]
internal sealed partial class PeerGrain(SiloPeerHost host, Exchange.TicketKeyring tickets, ILocalSiloDetails silo, ILogger<PeerGrain> logger) : Grain, IPeerGrain
{
    /// <summary>
    /// How often a peer reports to its cohort (and hears where the others are). Each report costs
    /// the silos some CPU the peers' threads would otherwise have: at 200 ms the cluster's threads
    /// took ~5 ms of CPU per 80 ms step of a 2-peer cohort on 2 cores; a teacher's move (a
    /// re-activation, its progress) reaches the others within this interval.
    /// </summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a stop may take (a step, an evaluation, a checkpoint) before the call answers without waiting further.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(8);

    private string _key = string.Empty;
    private string _cohort = string.Empty;
    private string _run = string.Empty;
    private string _peer = string.Empty;
    private SlotDescriptor? _slot;
    private PeerAssignment? _current;
    private IGrainTimer? _timer;
    private bool _reporting;

    private string Silo => silo.SiloAddress.ToParsableString();

    private ISlotBoardGrain Board => GrainFactory.GetGrain<ISlotBoardGrain>(ISlotBoardGrain.Key);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = this.GetPrimaryKeyString();
        (_cohort, _run, _peer) = GrainKeys.ParsePeer(_key);
        var reservation = await Board.FindAsync(_key);
        if (reservation is null || reservation.Silo != Silo)
        {
            throw new SlotUnavailableException($"peer '{_key}' was activated on {silo.Name} without a slot reserved there");
        }

        _slot = reservation.Slot;
        await Board.ConfirmAsync(_key, Silo);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        if (_current is { } current)
        {
            // The silo shuts down (or the grain is collected) while the peer trains: it stops with a
            // checkpoint and the cohort hears it was interrupted, so it goes on elsewhere from that
            // checkpoint. Orleans may cancel this token early in a shutdown; the stop is waited for
            // anyway (at most StopTimeout): a cohort that saw the silo gone before the checkpoint was
            // written would start the peer again from an older one.
            await host.StopAsync(_cohort, _run, _peer, current.Generation, checkpoint: true, $"its silo deactivates it ({reason.Description})", StopTimeout, CancellationToken.None);
            await ReportOnceAsync(CancellationToken.None);
        }

        try
        {
            await Board.ReleaseAsync(_key, Silo);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReleaseFailed(logger, _key, e.Message);
        }
    }

    public async Task<PeerStarted> StartAsync(PeerAssignment assignment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        if (assignment.Cohort != _cohort || assignment.Run != _run || assignment.Peer != _peer)
        {
            throw new PeerStartException($"the assignment is for '{GrainKeys.Peer(assignment.Cohort, assignment.Run, assignment.Peer)}', not for this peer grain '{_key}'");
        }

        if (assignment.Generation == 0)
        {
            throw new PeerStartException("generation 0 is not a generation (they start at 1)");
        }

        if (_current is { } current)
        {
            if (current.Generation == assignment.Generation)
            {
                return Started();
            }

            if (current.Generation > assignment.Generation)
            {
                throw new PeerStartException($"generation {current.Generation} of '{_peer}' runs here already; generation {assignment.Generation} is superseded");
            }

            await host.StopAsync(_cohort, _run, _peer, current.Generation, checkpoint: true, $"superseded by generation {assignment.Generation}", StopTimeout, cancellationToken);
            await host.ForgetAsync(_cohort, _run, _peer, current.Generation);
            _current = null;
        }

        // This worker checks the tickets of the streams its peer receives on with the cluster's key.
        await tickets.CodecAsync(GrainFactory);
        try
        {
            host.Start(assignment, _slot!);
        }
        catch (SlotUnavailableException) when (host.IsDraining)
        {
            // This worker stops: the slot goes, and so does this activation, so that the cohort's
            // next try activates the peer on another worker.
            await Board.ReleaseAsync(_key, Silo);
            DeactivateOnIdle();
            throw;
        }

        _current = assignment;
        _timer ??= this.RegisterGrainTimer(ReportTickAsync, new GrainTimerCreationOptions(ReportInterval, ReportInterval) { KeepAlive = true, Interleave = true });
        LogStarted(logger, _key, assignment.Generation, _slot!.Index, assignment.ResumeFromStep is { } s ? $"resuming from step {s}" : "from scratch");
        return Started();
    }

    public async Task<PeerStopped> StopAsync(ulong generation, bool checkpoint, string reason, CancellationToken cancellationToken)
    {
        if (_current is not { } current || (generation != 0 && current.Generation != generation))
        {
            return new PeerStopped(false, -1, null);
        }

        var stopped = await host.StopAsync(_cohort, _run, _peer, current.Generation, checkpoint, reason, StopTimeout, cancellationToken);
        await ReportOnceAsync(cancellationToken);
        return stopped;
    }

    public Task<HoldReply> HoldAsync(ulong generation, long step, CancellationToken cancellationToken) =>
        Task.FromResult(host.Hold(_cohort, _run, _peer, generation, step));

    public Task<bool> CommitChangeAsync(ulong generation, Core.Spec.CohortChange change, CancellationToken cancellationToken) =>
        Task.FromResult(host.CommitChange(_cohort, _run, _peer, generation, change));

    public Task<bool> CommitPauseAsync(ulong generation, long step, CancellationToken cancellationToken) =>
        Task.FromResult(host.CommitPause(_cohort, _run, _peer, generation, step));

    public Task ReleaseHoldAsync(ulong generation, CancellationToken cancellationToken)
    {
        host.ReleaseHold(_cohort, _run, _peer, generation);
        return Task.CompletedTask;
    }

    private PeerStarted Started() => new(Silo, silo.Name, host.ExchangeAddress, _slot!.Index);

    private Task ReportTickAsync(CancellationToken cancellationToken) => ReportOnceAsync(cancellationToken);

    /// <summary>One report to the cohort; once an ended generation's report was heard, the slot is released and the grain goes.</summary>
    private async Task ReportOnceAsync(CancellationToken cancellationToken)
    {
        if (_reporting || _current is not { } current)
        {
            return;
        }

        _reporting = true;
        try
        {
            var report = host.Report(_cohort, _run, _peer, Silo);
            if (report is null || report.Generation != current.Generation)
            {
                return;
            }

            var cohort = GrainFactory.GetGrain<ICohortGrain>(GrainKeys.Cohort(_cohort, _run));
            ReportReply reply;
            try
            {
                reply = await cohort.ReportAsync(report, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The cohort's silo may be dying: its grain comes back elsewhere; the next tick tries again.
                LogReportFailed(logger, _key, e.GetType().Name, e.Message);
                return;
            }

            host.UpdatePeers(_cohort, _run, reply.Peers);
            if (reply.Ticket.Length > 0)
            {
                host.Renew(_cohort, _run, _peer, current.Generation, reply.Ticket);
            }
            if (reply.Stop && States.IsTraining(report.State))
            {
                LogToldToStop(logger, _key, current.Generation, reply.Reason);
                await host.StopAsync(_cohort, _run, _peer, current.Generation, checkpoint: true, reply.Reason, StopTimeout, cancellationToken);
                return;
            }

            if (!States.IsTraining(report.State) && _current == current)
            {
                _current = null;
                _timer?.Dispose();
                _timer = null;
                await host.ForgetAsync(_cohort, _run, _peer, current.Generation);
                await Board.ReleaseAsync(_key, Silo);
                DeactivateOnIdle();
            }
        }
        finally
        {
            _reporting = false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "peer '{Peer}' generation {Generation} starts in slot {Slot}, {Resume}")]
    private static partial void LogStarted(ILogger logger, string peer, ulong generation, int slot, string resume);

    [LoggerMessage(Level = LogLevel.Information, Message = "peer '{Peer}' generation {Generation} stops: {Reason}")]
    private static partial void LogToldToStop(ILogger logger, string peer, ulong generation, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "peer '{Peer}' could not report to its cohort ({Kind}: {Message}); it tries again")]
    private static partial void LogReportFailed(ILogger logger, string peer, string kind, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "peer '{Peer}' could not release its slot: {Message}")]
    private static partial void LogReleaseFailed(ILogger logger, string peer, string message);
}
