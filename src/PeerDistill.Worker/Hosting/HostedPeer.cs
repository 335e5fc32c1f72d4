using Microsoft.Extensions.Logging;
using PeerDistill.Core.Runner;
using PeerDistill.Rpc.V1;
using PeerDistill.Worker.Exchange;

namespace PeerDistill.Worker.Hosting;

/// <summary>One peer trained by this worker: its thread, its stop switch and its progress.</summary>
internal sealed class HostedPeer
{
    private readonly HostedRun _run;
    private readonly Assignment _assignment;
    private readonly ILogger _logger;
    private readonly StopControl _stop = new(coupled: false);
    private readonly CancellationTokenSource _cancel = new();
    private Thread? _thread;

    public HostedPeer(HostedRun run, Assignment assignment, ILogger logger)
    {
        _run = run;
        _assignment = assignment;
        _logger = logger;
        Progress = new PeerProgressState(assignment.Cohort, assignment.Run, assignment.Peer, assignment.Generation, run.Data.TotalSteps);
    }

    public string Name => _assignment.Peer;

    public ulong Generation => _assignment.Generation;

    public PeerProgressState Progress { get; }

    public void Start()
    {
        _thread = new Thread(Train) { Name = $"peer-{Name}-g{Generation}", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Asks the peer to stop at its next step boundary (it checkpoints first).</summary>
    public void Stop(string reason)
    {
        Log.PeerStopping(_logger, Name, Generation, reason);
        _stop.RequestStop();
        _cancel.Cancel();
    }

    public void Join(TimeSpan timeout) => _thread?.Join(timeout);

    private void Train()
    {
        var spec = _run.Spec;
        var peerSpec = spec.Peers.First(p => p.Name == Name);
        var data = _run.Data;
        try
        {
            _stop.BeginRun(coupled: false);
            using var session = PeerSession.Create(peerSpec, data.Shape, data.Classes, data.TotalSteps);
            var store = new CheckpointStore(_assignment.CheckpointDir, _assignment.Run, spec.Checkpoints.KeepLast);
            if (_assignment.HasResumeFromStep)
            {
                session.Restore(store.PathOf(Name, _assignment.ResumeFromStep));
            }

            System.IO.Directory.CreateDirectory(_assignment.OutputDir);
            using var metrics = new MetricsFile(Path.Combine(_assignment.OutputDir, $"metrics.{Name}.jsonl"));
            metrics.Rewind(_assignment.Run, session.StartStep);
            var teachers = _run.Strategy.Configure(Name, session.StartStep);
            _run.Hub.Host(Name, Generation, teachers, session.StartStep);
            _run.Exchange.Prepare(Name);
            Progress.StartAt(session.StartStep);
            Progress.Set(PeerState.Active, session.StartStep > 0 ? $"resumed from the checkpoint at step {session.StartStep}" : "started");
            if (session.StartStep == 0)
            {
                WaitForCohort(teachers);
            }

            var options = new PeerLoopOptions(spec.Cohort, _assignment.Run, spec.Evaluation.EverySteps, spec.Evaluation.AtEpochEnd, spec.Evaluation.BatchSize, spec.Checkpoints.EverySteps);
            var outcome = new PeerStepLoop(session, data, _run.Strategy, _run.Exchange, new CompositeObserver(metrics, Progress), _stop, store, options).Run(_cancel.Token);
            Progress.Set(outcome.Status switch
            {
                Core.Runner.PeerStatus.Completed => PeerState.Completed,
                Core.Runner.PeerStatus.Interrupted => PeerState.Interrupted,
                _ => PeerState.Failed,
            }, outcome.Message ?? outcome.Status.ToString().ToLowerInvariant(), outcome.TestAccuracy);
            Log.PeerEnded(_logger, Name, Generation, outcome.Status.ToString(), outcome.StepsCompleted);
        }
        catch (OperationCanceledException)
        {
            _run.Exchange.Withdraw(Name, 0, "stopped");
            Progress.Set(PeerState.Interrupted, "stopped before training began");
        }
        catch (Exception e)
        {
            _run.Exchange.Withdraw(Name, 0, e.Message);
            Progress.Set(PeerState.Failed, $"peer '{Name}' could not run: {e.Message}");
            Log.PeerFailed(_logger, Name, Generation, e);
        }
    }

    /// <summary>A fresh run starts when every teacher is active, so that every peer has every teacher from step 0 on.</summary>
    private void WaitForCohort(IReadOnlyList<string> teachers)
    {
        while (true)
        {
            _cancel.Token.ThrowIfCancellationRequested();
            var version = _run.Directory.Version;
            if (teachers.All(t => _run.Directory.Find(t)?.State is PeerPresence.Active or PeerPresence.Done))
            {
                return;
            }

            _run.Directory.WaitForChange(version, TimeSpan.FromMilliseconds(250));
        }
    }
}
