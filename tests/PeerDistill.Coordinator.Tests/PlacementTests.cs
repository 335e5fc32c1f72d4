using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Coordinator.Tests;

/// <summary>Where peers go: spread over workers, one per slot, waiting when there is no slot.</summary>
public sealed class PlacementTests : IDisposable
{
    private readonly Harness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Submit_ThreePeersThreeWorkers_OnePeerPerWorker()
    {
        _h.Register("w1", slots: 2);
        _h.Register("w2", slots: 2);
        _h.Register("w3", slots: 2);

        var submitted = _h.Submit();

        var status = _h.Status("trio");
        Assert.Equal(CohortState.Running, status.State);
        Assert.Equal(["mlp", "cnn", "wide"], status.Peers.Select(p => p.Peer));
        Assert.Equal(["w1", "w2", "w3"], status.Peers.Select(p => p.WorkerId));
        Assert.All(status.Peers, p => Assert.Equal((1UL, PeerState.Pending), (p.Generation, p.State)));

        var assignment = Assert.Single(_h.Heartbeat("w2").Start);
        Assert.Equal(("trio", submitted.Run, "cnn", 1UL, 0), (assignment.Cohort, assignment.Run, assignment.Peer, assignment.Generation, assignment.SlotIndex));
        Assert.False(assignment.HasResumeFromStep);
        Assert.Equal(TestSpecs.Trio, assignment.SpecText);
        Assert.Equal("yaml", assignment.SpecFormat);
        Assert.Equal(Path.Combine(_h.Root, "trio", submitted.Run), assignment.OutputDir);
        Assert.Equal(Path.Combine(_h.Root, "trio", submitted.Run, "checkpoints"), assignment.CheckpointDir);
        Assert.Equal(["w1", "w2", "w3"], assignment.Peers.Select(p => p.WorkerId));
        Assert.Equal(["w1.local:7000", "w2.local:7000", "w3.local:7000"], assignment.Peers.Select(p => p.Address));
    }

    [Fact]
    public void Submit_RespectsSlots_MostFreeFirstThenFewestOfTheCohort()
    {
        _h.Register("a", slots: 2);
        _h.Register("b", slots: 1);

        _h.Submit();

        // mlp: a has the most free slots; cnn: a and b tie on free slots, b has fewer trio peers; wide: only a has a slot.
        var status = _h.Status("trio");
        Assert.Equal(["a", "b", "a"], status.Peers.Select(p => p.WorkerId));
        Assert.Equal([0, 1], _h.Heartbeat("a").Start.Select(s => s.SlotIndex).Order());
        Assert.Equal([0], _h.Heartbeat("b").Start.Select(s => s.SlotIndex));
    }

    [Fact]
    public void Submit_NotEnoughSlots_PendingUntilAWorkerRegisters()
    {
        _h.Register("w1");

        _h.Submit();

        var waiting = _h.Status("trio");
        Assert.Equal(CohortState.Pending, waiting.State);
        Assert.Equal(["w1", string.Empty, string.Empty], waiting.Peers.Select(p => p.WorkerId));
        Assert.Equal([1UL, 0UL, 0UL], waiting.Peers.Select(p => p.Generation));
        Assert.Single(_h.Heartbeat("w1").Start);

        _h.Register("w2", slots: 2);

        var placed = _h.Status("trio");
        Assert.Equal(CohortState.Running, placed.State);
        Assert.Equal(["w1", "w2", "w2"], placed.Peers.Select(p => p.WorkerId));
        Assert.Equal(3, placed.Events.Count(e => e.Kind == "placed"));
        Assert.Equal(2, _h.Heartbeat("w2").Start.Count);
    }

    [Fact]
    public void CompletedPeer_FreesItsSlotForAWaitingCohort()
    {
        _h.Register("w1");
        _h.Register("w2");
        _h.Submit(TestSpecs.Smoke);
        _h.Submit();
        Assert.Equal(CohortState.Pending, _h.Status("trio").State);
        Assert.All(_h.Status("trio").Peers, p => Assert.Equal(string.Empty, p.WorkerId));

        var mlp = _h.Accept("w1").Single();
        var reply = _h.Heartbeat("w1", Harness.Progress(mlp, PeerState.Completed, step: 141, accuracy: 0.9));

        var started = Assert.Single(reply.Start);
        Assert.Equal(("trio", "mlp", 0), (started.Cohort, started.Peer, started.SlotIndex));
    }
}
