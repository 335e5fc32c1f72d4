using Microsoft.Extensions.Logging;
using PeerDistill.Core.Runner;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Exchange;

namespace PeerDistill.Cluster.Hosting;

/// <summary>One peer trained by this worker: its thread, its slot, its stop switch, its progress and how it ended.</summary>
internal sealed class HostedPeer
{
    private readonly HostedRun _run;
    private readonly PeerAssignment _assignment;
    private readonly int _slot;
    private readonly ILogger _logger;
    private readonly StopControl _stop = new(coupled: false);
    private readonly CancellationTokenSource _cancel = new();
    private readonly TaskCompletionSource<PeerEnd> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ChangeSchedule _schedule;
    private Thread? _thread;

    // While a fresh peer waits for its teachers to be placed before its first step: what for.
    private volatile GatherWait? _startWait;
    private string _ticket;

    public HostedPeer(HostedRun run, PeerAssignment assignment, int slot, ILogger logger)
    {
        _run = run;
        _assignment = assignment;
        _ticket = assignment.Ticket;
        _slot = slot;
        _logger = logger;
        Progress = new PeerProgressState(assignment.Peer, assignment.Generation, run.Data.TotalSteps, () => _startWait ?? run.Hub.WaitOf(assignment.Peer), TimeProvider.System);
        Progress.StartAt(StartStep);
        var options = PeerLoopOptions.For(run.Spec, assignment.Run);
        _schedule = new ChangeSchedule(options.Settings!, [.. run.Spec.Changes, .. assignment.Changes]);
        _schedule.StartFrom(StartStep);
    }

    public string Name => _assignment.Peer;

    public ulong Generation => _assignment.Generation;

    /// <summary>This generation's exchange ticket, renewed by its cohort before it expires (a credential: never logged).</summary>
    public string Ticket
    {
        get => Volatile.Read(ref _ticket);
        set => Volatile.Write(ref _ticket, value);
    }

    /// <summary>The step it starts from: the checkpoint it resumes, or 0.</summary>
    public long StartStep => _assignment.ResumeFromStep ?? 0;

    /// <summary>The worker slot it trains in (held until it has ended).</summary>
    public int Slot => _slot;

    public PeerProgressState Progress { get; }

    /// <summary>Completes when the peer's thread is done (its final state is in <see cref="Progress"/> by then).</summary>
    public Task<PeerEnd> Ended => _ended.Task;

    public bool HasEnded => _ended.Task.IsCompleted;

    public void Start()
    {
        _thread = new Thread(Train) { Name = $"peer-{Name}-g{Generation}", IsBackground = true };
        _thread.Start();
    }

    /// <summary>
    /// Asks the peer to stop at its next step boundary, or at once if it waits for its teachers (that
    /// step is undone); it checkpoints the steps it completed unless <paramref name="checkpoint"/> is false.
    /// </summary>
    public void Stop(string reason, bool checkpoint = true)
    {
        if (HasEnded)
        {
            return;
        }

        Log.PeerStopping(_logger, Name, Generation, reason);
        _stop.RequestStop(checkpoint);
        _cancel.Cancel();
    }

    public void Join(TimeSpan timeout) => _thread?.Join(timeout);

    /// <summary>Promises its cohort not to start <paramref name="step"/> until it commits or releases (refused, with the step it started, when it has started it).</summary>
    public ScheduleAnswer Hold(long step) => _schedule.Hold(step);

    /// <summary>The cohort agreed on <paramref name="change"/> at its step: applied there, and the hold ends.</summary>
    public ScheduleAnswer Commit(Core.Spec.CohortChange change) => _schedule.Commit(change);

    /// <summary>The cohort agreed to pause at <paramref name="step"/>: the peer stops there with a checkpoint of it, and the hold ends.</summary>
    public void PauseAt(long step)
    {
        Log.PeerStopping(_logger, Name, Generation, $"its run pauses at step {step}");
        _stop.StopAt(step);
        _schedule.Release();
    }

    /// <summary>The cohort decided nothing: the hold ends.</summary>
    public void Release() => _schedule.Release();

    private void Train()
    {
        var spec = _run.Spec;
        var peerSpec = spec.Peers.First(p => p.Name == Name);
        var data = _run.Data;
        var start = StartStep;
        try
        {
            _stop.BeginRun(coupled: false);
            using var session = PeerSession.Create(peerSpec, data.Shape, data.Classes, data.TotalSteps, spec);
            var store = new CheckpointStore(_assignment.CheckpointDirectory, _assignment.Run, spec.Checkpoints.KeepLast);
            if (_assignment.ResumeFromStep is { } resume)
            {
                session.Restore(store.PathOf(Name, resume));
            }

            System.IO.Directory.CreateDirectory(_assignment.OutputDirectory);
            using var metrics = new MetricsFile(Path.Combine(_assignment.OutputDirectory, $"metrics.{Name}.jsonl"));
            metrics.Rewind(_assignment.Run, session.StartStep);
            var teachers = _run.Strategy.Configure(Name, session.StartStep);
            _run.Hub.Host(Name, Generation, teachers, session.StartStep);
            _run.Exchange.Prepare(Name);
            Progress.StartAt(session.StartStep);
            Progress.Set(PeerState.Active, session.StartStep > 0 ? $"resumed from the checkpoint at step {session.StartStep}" : "started");
            if (session.StartStep == 0 || _assignment.WaitForCohort)
            {
                WaitForCohort(teachers);
            }

            var options = PeerLoopOptions.For(spec, _assignment.Run, _run.Tracing) with
            {
                TraceParent = Exchange.TraceContext.Parse(_assignment.TraceParent),
                Generation = Generation,
            };
            var outcome = new PeerStepLoop(session, data, _run.Strategy, _run.Exchange, new CompositeObserver(metrics, Progress), _stop, store, options, _schedule).Run(_cancel.Token);
            var state = outcome.Status switch
            {
                Core.Runner.PeerStatus.Completed => PeerState.Completed,
                Core.Runner.PeerStatus.Interrupted => PeerState.Interrupted,
                _ => PeerState.Failed,
            };
            var message = outcome.Message ?? (state == PeerState.Interrupted
                ? $"stopped after {outcome.StepsCompleted} steps" + (outcome.CheckpointStep is { } c ? $"; checkpoint of step {c} written" : "; no checkpoint written (as asked)")
                : outcome.Status.ToString().ToLowerInvariant());
            Progress.Set(state, message, outcome.TestAccuracy, outcome.CheckpointStep);
            Log.PeerEnded(_logger, Name, Generation, outcome.Status.ToString(), outcome.StepsCompleted);
            _ended.TrySetResult(new PeerEnd(state, outcome.StepsCompleted, outcome.CheckpointStep));
        }
        catch (OperationCanceledException)
        {
            // Stopped before its first step: nothing new to checkpoint (it starts again from its start step).
            _run.Exchange.Withdraw(Name, start, "stopped");
            Progress.Set(PeerState.Interrupted, $"stopped before its first step; it goes on from step {start}");
            _ended.TrySetResult(new PeerEnd(PeerState.Interrupted, start, null));
        }
        catch (Exception e)
        {
            _run.Exchange.Withdraw(Name, start, e.Message);
            Progress.Set(PeerState.Failed, $"peer '{Name}' could not run: {e.Message}");
            Log.PeerFailed(_logger, Name, Generation, e);
            _ended.TrySetResult(new PeerEnd(PeerState.Failed, start, null));
        }
    }

    /// <summary>
    /// A fresh run starts when every teacher is active, so that every peer has every teacher from
    /// step 0 on. While it waits, its report says for whom (and it is STALLED after a while), and a
    /// warning names them every <see cref="ExchangeSettings.StallWarningAfter"/>.
    /// </summary>
    private void WaitForCohort(IReadOnlyList<string> teachers)
    {
        var since = DateTime.UtcNow;
        var warnAt = since + ExchangeSettings.StallWarningAfter;
        try
        {
            while (true)
            {
                _cancel.Token.ThrowIfCancellationRequested();
                var version = _run.Directory.Version;
                var absent = teachers.Where(t => _run.Directory.Find(t)?.State is not (PeerPresence.Active or PeerPresence.Done)).ToList();
                if (absent.Count == 0)
                {
                    return;
                }

                var wait = new GatherWait(StartStep, since, absent.Select(t => $"'{t}' (not placed yet: the run starts when every peer is)").ToList(), Published: false);
                _startWait = wait;
                if (DateTime.UtcNow >= warnAt)
                {
                    Log.StillWaiting(_logger, Name, 0, (DateTime.UtcNow - since).TotalSeconds, string.Join("; ", wait.Teachers));
                    warnAt = DateTime.UtcNow + ExchangeSettings.StallWarningAfter;
                }

                _run.Directory.WaitForChange(version, TimeSpan.FromMilliseconds(250));
            }
        }
        finally
        {
            _startWait = null;
        }
    }
}
