using Grpc.Core;
using Microsoft.Extensions.Logging;
using PeerDistill.Core.Runner;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Coordinator.Tests;

/// <summary>Lost workers, re-placement with the next generation from the newest checkpoint, stale incarnations.</summary>
public sealed class RecoveryTests : IDisposable
{
    private readonly Harness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void LeaseExpiry_PeerReplacedWithNextGenerationFromNewestCheckpoint()
    {
        var (run, lost) = StartTrioOnThreeWorkers();
        var store = new CheckpointStore(lost.CheckpointDir, run, keepLast: 2);
        foreach (var step in new[] { 20L, 40L })
        {
            var path = store.PathOf("mlp", step);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, [1, 2, 3]);
        }

        ExpireW1();

        var status = _h.Status("trio");
        var mlp = status.Peers.Single(p => p.Peer == "mlp");
        Assert.Equal(("w2", 2UL, PeerState.Recovering), (mlp.WorkerId, mlp.Generation, mlp.State));
        Assert.Equal(CohortState.Running, status.State);
        Assert.Equal(StatusCode.NotFound, Assert.Throws<RpcException>(() => _h.Heartbeat("w1")).StatusCode);

        var again = Assert.Single(_h.Heartbeat("w2").Start);
        Assert.Equal(("mlp", 2UL, 1, 40L), (again.Peer, again.Generation, again.SlotIndex, again.ResumeFromStep));
        var endpoint = again.Peers.Single(p => p.Peer == "mlp");
        Assert.Equal(("w2", 2UL, PeerState.Recovering), (endpoint.WorkerId, endpoint.Generation, endpoint.State));

        Assert.Contains((LogLevel.Warning, "Worker w1 at w1.local:7000 lost: no heartbeat for 6.0 s (lease 5.0 s)"), _h.Log.Lines);
        var lostEvent = Assert.Single(status.Events, e => e.Kind == "worker-lost");
        Assert.Contains("worker 'w1'", lostEvent.Message, StringComparison.Ordinal);
        Assert.Contains("mlp", lostEvent.Message, StringComparison.Ordinal);
        var reactivated = Assert.Single(status.Events, e => e.Kind == "reactivated");
        Assert.Equal("mlp", reactivated.Peer);
        Assert.Contains("generation 2 on worker 'w2'", reactivated.Message, StringComparison.Ordinal);
        Assert.Contains("resuming from step 40", reactivated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LeaseExpiry_NoCheckpoint_ResumesFromScratch()
    {
        StartTrioOnThreeWorkers();

        ExpireW1();

        var again = Assert.Single(_h.Heartbeat("w2").Start);
        Assert.Equal(("mlp", 2UL), (again.Peer, again.Generation));
        Assert.False(again.HasResumeFromStep);
        Assert.Contains(_h.Status("trio").Events, e => e.Kind == "reactivated" && e.Message.Contains("from scratch", StringComparison.Ordinal));
    }

    [Fact]
    public void LeaseExpiry_NoFreeSlot_WaitsRecoveringUntilOneFrees()
    {
        _h.Register("w1");
        _h.Register("w2");
        _h.Submit(TestSpecs.Smoke);
        _h.Accept("w1");
        _h.Accept("w2");

        _h.Advance(3);
        _h.Heartbeat("w2");
        _h.Advance(3);
        _h.State.Tick();

        var waiting = _h.Status("smoke").Peers.Single(p => p.Peer == "mlp");
        Assert.Equal((string.Empty, 2UL, PeerState.Recovering), (EndpointWorker("w2", "mlp"), waiting.Generation, waiting.State));
        Assert.Empty(_h.Heartbeat("w2").Start);

        _h.Register("w1"); // the lost worker comes back as a fresh process
        var again = Assert.Single(_h.Heartbeat("w1").Start);
        Assert.Equal(("mlp", 2UL), (again.Peer, again.Generation));
    }

    [Fact]
    public void Register_KnownId_TreatsItsPeersAsLost()
    {
        _h.Register("w1");
        _h.Register("w2");
        _h.Submit(TestSpecs.Smoke);
        _h.Accept("w1");

        _h.Register("w1");

        var mlp = _h.Status("smoke").Peers.Single(p => p.Peer == "mlp");
        Assert.Equal((2UL, PeerState.Recovering, "w1"), (mlp.Generation, mlp.State, mlp.WorkerId));
        var again = Assert.Single(_h.Heartbeat("w1").Start);
        Assert.Equal(2UL, again.Generation);
        Assert.Contains(_h.Status("smoke").Events, e => e.Kind == "worker-lost" && e.Message.Contains("restarted", StringComparison.Ordinal));
    }

    [Fact]
    public void StaleGeneration_InHeartbeatStop_NotApplied()
    {
        var (_, old) = StartTrioOnThreeWorkers();
        ExpireW1();
        _h.Register("w1"); // the old process was only cut off, and still runs generation 1

        var reply = _h.Heartbeat("w1", Harness.Progress(old, PeerState.Active, step: 99));

        var stop = Assert.Single(reply.Stop);
        Assert.Equal(("trio", old.Run, "mlp", 1UL), (stop.Cohort, stop.Run, stop.Peer, stop.Generation));
        var mlp = _h.Status("trio").Peers.Single(p => p.Peer == "mlp");
        Assert.Equal((2UL, PeerState.Recovering), (mlp.Generation, mlp.State));
        Assert.NotEqual(99, mlp.Step);
    }

    [Fact]
    public void Progress_FromTheHostingWorker_Applied()
    {
        var (_, mlp) = StartTrioOnThreeWorkers();

        var reply = _h.Heartbeat("w1", Harness.Progress(mlp, PeerState.Active, step: 12, accuracy: 0.5));

        Assert.Empty(reply.Stop);
        var status = _h.Status("trio").Peers.Single(p => p.Peer == "mlp");
        Assert.Equal((12L, 141L, PeerState.Active, 0.5), (status.Step, status.TotalSteps, status.State, status.Accuracy));
        Assert.Equal(1.0 / 12, status.LastLoss, 9);
    }

    [Fact]
    public void Progress_FromAnotherWorker_IgnoredAndThatWorkerToldToStopIt()
    {
        var (_, mlp) = StartTrioOnThreeWorkers();
        _h.Heartbeat("w1", Harness.Progress(mlp, PeerState.Active, step: 12));

        var reply = _h.Heartbeat("w2", Harness.Progress(mlp, PeerState.Active, step: 99));
        var stop = Assert.Single(reply.Stop, s => s.Peer == "mlp");
        Assert.Equal(mlp.Generation, stop.Generation);
        Assert.Empty(_h.Heartbeat("w2", Harness.Progress(mlp, PeerState.Failed, step: 99, message: "forged")).Stop);

        var status = _h.Status("trio").Peers.Single(p => p.Peer == "mlp");
        Assert.Equal((12L, PeerState.Active, "w1"), (status.Step, status.State, status.WorkerId));
        Assert.Contains(_h.Log.Lines, l => l.Message.Contains("placed on worker 'w1', not on 'w2'", StringComparison.Ordinal));
    }

    [Fact]
    public void InterruptedReport_RunGoesOn_PeerRecoversOnAnotherWorker()
    {
        var (_, mlp) = StartTrioOnThreeWorkers();

        _h.Heartbeat("w1", Harness.Progress(mlp, PeerState.Interrupted, step: 30, message: "worker shutting down"));

        var status = _h.Status("trio");
        var peer = status.Peers.Single(p => p.Peer == "mlp");
        Assert.Equal(("w2", 2UL, PeerState.Recovering), (peer.WorkerId, peer.Generation, peer.State));
        Assert.Empty(_h.Heartbeat("w1").Start);
        Assert.Contains(status.Events, e => e.Kind == "interrupted" && e.Peer == "mlp");
    }

    /// <summary>w1..w3 with two slots each; trio placed one peer per worker; every assignment acknowledged. Returns the run and mlp's assignment (on w1).</summary>
    private (string Run, Assignment Mlp) StartTrioOnThreeWorkers()
    {
        _h.Register("w1", slots: 2);
        _h.Register("w2", slots: 2);
        _h.Register("w3", slots: 2);
        var run = _h.Submit().Run;
        var mlp = _h.Accept("w1").Single();
        _h.Accept("w2");
        _h.Accept("w3");
        Assert.Equal("mlp", mlp.Peer);
        return (run, mlp);
    }

    /// <summary>w2 and w3 keep beating; w1 falls silent for 6 s; the tick finds it lost.</summary>
    private void ExpireW1()
    {
        _h.Advance(3);
        _h.Heartbeat("w2");
        _h.Heartbeat("w3");
        _h.Advance(3);
        _h.State.Tick();
    }

    private string EndpointWorker(string worker, string peer) => _h.Heartbeat(worker).Peers.Single(p => p.Peer == peer).WorkerId;
}
