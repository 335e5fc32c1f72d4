using PeerDistill.Cluster.Cohorts;
using Xunit;

namespace PeerDistill.Cluster.Tests.Cohorts;

/// <summary>The rules of a run's life: who is heard, generations, recovery, the run's state, cancel, events.</summary>
public sealed class CohortLifecycleTests
{
    private readonly Lifecycle _h = new(Path.Combine(Path.GetTempPath(), "peerdistill-lifecycle-unused"));

    [Fact]
    public void Start_NewRun_PendingWithSubmittedEventAndGenerationOne()
    {
        var record = _h.Run.Record;

        Assert.Equal(CohortState.Pending, record.State);
        Assert.Equal(["mlp", "cnn", "wide"], record.Peers.Select(p => p.Name));
        Assert.All(record.Peers, p => Assert.Equal((1UL, PeerState.Pending, false), (p.Generation, p.State, p.Placed)));
        var submitted = Assert.Single(record.Events);
        Assert.Equal(EventKinds.Submitted, submitted.Kind);
        Assert.Equal(["mlp", "cnn", "wide"], _h.Run.Waiting().Select(p => p.Name));
    }

    [Fact]
    public void EveryPeerPlaced_RunGoesFromPendingToRunningOnce()
    {
        _h.Place("mlp", "w1");
        _h.Place("cnn", "w2");
        Assert.Equal(CohortState.Pending, _h.Run.Record.State);

        _h.Place("wide", "w3");

        Assert.Equal(CohortState.Running, _h.Run.Record.State);
        Assert.Single(_h.Run.Record.Events, e => e.Kind == EventKinds.Running);
        Assert.Equal(3, _h.Run.Record.Events.Count(e => e.Kind == EventKinds.Placed));
        Assert.Empty(_h.Run.Waiting());
        Assert.True(_h.Run.Durable);
    }

    [Fact]
    public void Report_FromThePlacedSilo_Applied()
    {
        _h.PlaceAllActive();
        _h.Run.Saved();

        var reply = _h.Report("mlp", "w1", PeerState.Active, step: 12, accuracy: 0.5);

        Assert.False(reply.Stop);
        var mlp = _h.Peer("mlp");
        Assert.Equal((12L, 141L, PeerState.Active, 0.5), (mlp.Step, mlp.TotalSteps, mlp.State, mlp.Accuracy));
        Assert.Equal(1.0 / 12, mlp.LastLoss!.Value, 9);
        Assert.True(_h.Run.Dirty);
        Assert.False(_h.Run.Durable);
        Assert.Equal(["mlp", "cnn", "wide"], reply.Peers.Select(p => p.Peer));
    }

    [Fact]
    public void Report_FromAnotherSilo_IgnoredAndThatIncarnationToldToStop()
    {
        _h.PlaceAllActive();
        _h.Report("mlp", "w1", PeerState.Active, step: 12);

        var active = _h.Report("mlp", "w2", PeerState.Active, step: 99);
        var failed = _h.Report("mlp", "w2", PeerState.Failed, step: 99, message: "forged");

        Assert.True(active.Stop);
        Assert.Contains("not on the silo reporting it", active.Reason, StringComparison.Ordinal);
        Assert.False(failed.Stop); // it no longer trains: nothing to stop
        var mlp = _h.Peer("mlp");
        Assert.Equal((12L, PeerState.Active, "w1"), (mlp.Step, mlp.State, mlp.WorkerId));
    }

    [Fact]
    public void Report_OlderGeneration_ToldToStopAndNotApplied()
    {
        _h.PlaceAllActive();
        _h.Run.LoseSilo(Lifecycle.Silo("w1"), "silo w1 declared dead");
        _h.Place("mlp", "w4");

        var reply = _h.Report("mlp", "w1", PeerState.Active, step: 99, generation: 1);

        Assert.True(reply.Stop);
        Assert.Contains("generation 1 of 'mlp' is superseded by generation 2", reply.Reason, StringComparison.Ordinal);
        var mlp = _h.Peer("mlp");
        Assert.Equal((2UL, "w4"), (mlp.Generation, mlp.WorkerId));
        Assert.NotEqual(99, mlp.Step);
    }

    [Fact]
    public void Report_GenerationNotYetPlaced_ToldToStop()
    {
        var reply = _h.Report("mlp", "w1", PeerState.Active, step: 3);

        Assert.True(reply.Stop);
        Assert.Contains("was not activated by its cohort", reply.Reason, StringComparison.Ordinal);
        Assert.Equal(PeerState.Pending, _h.Peer("mlp").State);
    }

    [Fact]
    public void Report_UnknownPeer_ToldToStop()
    {
        var unknown = _h.Run.Apply(new PeerReport { Peer = "ghost", Generation = 1, Silo = Lifecycle.Silo("w1"), State = PeerState.Active });

        Assert.True(unknown.Stop);
        Assert.Contains("has no peer 'ghost'", unknown.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void InterruptedReport_RunGoesOn_PeerRecoversWithNextGenerationAvoidingItsWorker()
    {
        _h.PlaceAllActive();

        var reply = _h.Report("mlp", "w1", PeerState.Interrupted, step: 30, message: "worker shutting down", checkpoint: 20);

        Assert.False(reply.Stop);
        var mlp = _h.Peer("mlp");
        Assert.Equal((2UL, PeerState.Recovering, false, "w1", 20L), (mlp.Generation, mlp.State, mlp.Placed, mlp.AvoidWorkerId, mlp.LastCheckpointStep));
        Assert.Equal(CohortState.Running, _h.Run.Record.State);
        Assert.Equal(["mlp"], _h.Run.Waiting().Select(p => p.Name));
        Assert.Contains(_h.Run.Record.Events, e => e.Kind == EventKinds.Interrupted && e.Peer == "mlp" && e.Message.Contains("worker shutting down", StringComparison.Ordinal));
        Assert.True(_h.Run.Durable);

        var assignment = _h.Run.AssignmentFor(mlp, newestCheckpoint: 20);
        _h.Place("mlp", "w2", slot: 1, newestCheckpoint: 20);

        Assert.Equal((2UL, 20L), (assignment.Generation, assignment.ResumeFromStep));
        Assert.Equal(("w2", 1, (string?)null, 20L), (mlp.WorkerId, mlp.SlotIndex, mlp.AvoidWorkerId, mlp.ResumeFromStep));
        var reactivated = Assert.Single(_h.Run.Record.Events, e => e.Kind == EventKinds.Reactivated);
        Assert.Contains("generation 2 on worker 'w2' slot 1, resuming from step 20", reactivated.Message, StringComparison.Ordinal);
        Assert.Contains($"(silo {Lifecycle.Silo("w2")})", reactivated.Message, StringComparison.Ordinal);
        // The new generation's progress is where its checkpoint left off, not where the lost one was.
        Assert.Equal(20L, mlp.Step);
        Assert.Equal(20L, _h.Run.Endpoints().Single(e => e.Peer == "mlp").Step);
    }

    [Fact]
    public void StalledReport_PeerStalledWithItsMessageAndOneEvent_ActiveAgainWhenItSteps()
    {
        _h.PlaceAllActive();
        const string waiting = "waiting 12 s at step 40 for 'cnn' (active on worker 'w2', at step 40, itself waiting at step 40)";

        var reply = _h.Run.Apply(new PeerReport { Peer = "mlp", Generation = 1, Silo = Lifecycle.Silo("w1"), State = PeerState.Stalled, Step = 40, Message = waiting, WaitingAtStep = 40, WaitedSeconds = 12 });
        _h.Run.Apply(new PeerReport { Peer = "mlp", Generation = 1, Silo = Lifecycle.Silo("w1"), State = PeerState.Stalled, Step = 40, Message = waiting, WaitingAtStep = 40, WaitedSeconds = 12.5 });

        Assert.False(reply.Stop);
        var mlp = _h.Peer("mlp");
        Assert.Equal((PeerState.Stalled, waiting, 40L), (mlp.State, mlp.Message, mlp.WaitingAt));
        Assert.Equal(40L, _h.Run.Endpoints().Single(e => e.Peer == "mlp").WaitingAt);
        Assert.Equal(waiting, Assert.Single(_h.Run.Record.Events, e => e.Kind == EventKinds.Stalled).Message);
        Assert.Equal(CohortState.Running, _h.Run.Record.State);

        _h.Report("mlp", "w1", PeerState.Active, step: 41);

        Assert.Equal((PeerState.Active, (long?)null), (mlp.State, mlp.WaitingAt));
        Assert.Single(_h.Run.Record.Events, e => e.Kind == EventKinds.Moving && e.Peer == "mlp");
        Assert.Single(_h.Run.Record.Events, e => e.Kind == EventKinds.Activated && e.Peer == "mlp");
    }

    [Fact]
    public void Reactivation_EndpointCarriesTheResumeStep_NotTheLostGenerationsProgress()
    {
        _h.PlaceAllActive();
        _h.Report("cnn", "w2", PeerState.Active, step: 900);
        _h.Run.LoseSilo(Lifecycle.Silo("w2"), "dead");

        _h.Place("cnn", "w4", newestCheckpoint: 500);

        var endpoint = _h.Run.Endpoints().Single(e => e.Peer == "cnn");
        Assert.Equal((2UL, 500L, (long?)null), (endpoint.Generation, endpoint.Step, endpoint.WaitingAt));
    }

    [Fact]
    public void LoseSilo_ItsPeersRecoverWithNextGeneration_OthersUntouched()
    {
        _h.PlaceAllActive();
        _h.Report("mlp", "w1", PeerState.Active, step: 40);

        var lost = _h.Run.LoseSilo(Lifecycle.Silo("w1"), "silo w1 declared dead");

        Assert.Equal(["mlp"], lost);
        var mlp = _h.Peer("mlp");
        Assert.Equal((2UL, PeerState.Recovering, false, (string?)null), (mlp.Generation, mlp.State, mlp.Placed, mlp.AvoidWorkerId));
        Assert.All(new[] { _h.Peer("cnn"), _h.Peer("wide") }, p => Assert.Equal((1UL, PeerState.Active, true), (p.Generation, p.State, p.Placed)));
        var workerLost = Assert.Single(_h.Run.Record.Events, e => e.Kind == EventKinds.WorkerLost);
        Assert.Contains("silo w1 declared dead; peers lost: mlp", workerLost.Message, StringComparison.Ordinal);
        Assert.Equal(CohortState.Running, _h.Run.Record.State);
        Assert.Empty(_h.Run.LoseSilo(Lifecycle.Silo("w1"), "again")); // nothing placed there any more
        var endpoint = _h.Run.Endpoints().Single(p => p.Peer == "mlp");
        Assert.Equal((string.Empty, string.Empty, 2UL), (endpoint.WorkerId, endpoint.Address, endpoint.Generation));
    }

    [Fact]
    public void Waiting_RecoveringPeersBeforePendingOnes()
    {
        _h.Place("mlp", "w1");
        _h.Place("cnn", "w2");

        _h.Run.LoseSilo(Lifecycle.Silo("w2"), "silo w2 declared dead");

        Assert.Equal(["cnn", "wide"], _h.Run.Waiting().Select(p => p.Name));
        Assert.Equal(CohortState.Pending, _h.Run.Record.State);
    }

    [Fact]
    public void LoseSilo_NoCheckpoint_ReactivatedFromScratch()
    {
        _h.PlaceAllActive();
        _h.Run.LoseSilo(Lifecycle.Silo("w1"), "silo w1 declared dead");

        var assignment = _h.Run.AssignmentFor(_h.Peer("mlp"), newestCheckpoint: null);
        _h.Place("mlp", "w2", slot: 1);

        Assert.Null(assignment.ResumeFromStep);
        Assert.Contains(_h.Run.Record.Events, e => e.Kind == EventKinds.Reactivated && e.Message.Contains("from scratch", StringComparison.Ordinal));
    }

    [Fact]
    public void FirstAssignment_StartsFromScratchEvenWithACheckpoint()
    {
        var assignment = _h.Run.AssignmentFor(_h.Peer("mlp"), newestCheckpoint: 40);

        Assert.Null(assignment.ResumeFromStep);
        Assert.Equal(("trio", "trio-20250102-030405", "mlp", 1UL, "cohort: trio"), (assignment.Cohort, assignment.Run, assignment.Peer, assignment.Generation, assignment.SpecText));
    }

    [Fact]
    public void AllPeersComplete_RunCompletedOnce()
    {
        _h.PlaceAllActive();
        _h.Advance(7);

        _h.Report("mlp", "w1", PeerState.Completed, step: 141, accuracy: 0.8);
        _h.Report("cnn", "w2", PeerState.Completed, step: 141, accuracy: 0.8);
        Assert.Equal(CohortState.Running, _h.Run.Record.State);
        Assert.False(_h.Run.JustFinished);
        _h.Report("wide", "w3", PeerState.Completed, step: 141, accuracy: 0.8);

        Assert.Equal(CohortState.Completed, _h.Run.Record.State);
        Assert.Equal((Lifecycle.Start + TimeSpan.FromSeconds(7)).ToUnixTimeMilliseconds(), _h.Run.Record.FinishedUnixMillis);
        Assert.True(_h.Run.JustFinished);
        Assert.Single(_h.Run.Record.Events, e => e.Kind == EventKinds.Completed && e.Peer.Length == 0);
        Assert.Empty(_h.Run.Waiting());
    }

    [Fact]
    public void PeerFails_OthersFinish_RunFailedNamingIt()
    {
        _h.PlaceAllActive();

        _h.Report("mlp", "w1", PeerState.Failed, step: 5, message: "loss is NaN");
        Assert.Equal(CohortState.Running, _h.Run.Record.State);
        _h.Report("cnn", "w2", PeerState.Completed, step: 141);
        _h.Report("wide", "w3", PeerState.Completed, step: 141);

        Assert.Equal(CohortState.Failed, _h.Run.Record.State);
        Assert.Equal("loss is NaN", _h.Peer("mlp").Message);
        var failed = Assert.Single(_h.Run.Record.Events, e => e.Kind == EventKinds.Failed && e.Peer.Length == 0);
        Assert.Contains("mlp did not complete", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unrunnable_LastUnfinishedPeer_RunFailed()
    {
        _h.PlaceAllActive();
        _h.Report("cnn", "w2", PeerState.Completed, step: 141);
        _h.Report("wide", "w3", PeerState.Completed, step: 141);

        _h.Run.Unrunnable(_h.Peer("mlp"), "peers[0].model: unknown model");

        Assert.Equal(CohortState.Failed, _h.Run.Record.State);
        Assert.Equal(PeerState.Failed, _h.Peer("mlp").State);
    }

    [Fact]
    public void Cancel_PlacedPeersReturnedToStop_RunCancelled_StillTrainingToldToStop()
    {
        _h.Place("mlp", "w1");
        _h.Place("cnn", "w2");
        _h.Report("mlp", "w1", PeerState.Active, step: 9);

        var running = _h.Run.Cancel("enough");

        Assert.Equal(["mlp", "cnn"], running.Select(p => p.Name));
        Assert.Equal(CohortState.Cancelled, _h.Run.Record.State);
        Assert.All(_h.Run.Record.Peers, p => Assert.Equal(PeerState.Interrupted, p.State));
        Assert.Contains(_h.Run.Record.Events, e => e.Kind == EventKinds.Cancelled && e.Message == "enough");
        Assert.True(_h.Run.JustFinished);
        Assert.True(_h.Report("mlp", "w1", PeerState.Active, step: 10).Stop);
        Assert.False(_h.Report("mlp", "w1", PeerState.Interrupted, step: 10, checkpoint: 10).Stop);
        Assert.Equal(10L, _h.Peer("mlp").LastCheckpointStep);
        Assert.Equal(9L, _h.Peer("mlp").Step);
        Assert.Empty(_h.Run.Cancel("again"));
        Assert.Empty(_h.Run.Waiting());
    }

    [Fact]
    public void FinishedRun_LoseSilo_ChangesNothing()
    {
        _h.PlaceAllActive();
        _h.Run.Cancel("enough");
        var version = _h.Run.Record.Version;

        Assert.Empty(_h.Run.LoseSilo(Lifecycle.Silo("w1"), "dead"));
        Assert.Equal(version, _h.Run.Record.Version);
    }

    [Fact]
    public void ManyEvents_CappedAtMaxEvents_InterruptionsAllKept()
    {
        var h = new Lifecycle("/unused", maxEvents: 4, "mlp", "cnn");
        h.Place("mlp", "w1");
        h.Place("cnn", "w2");
        for (var i = 0; i < 5; i++)
        {
            var worker = $"w{3 + i}";
            h.Run.LoseSilo(Lifecycle.Silo(i == 0 ? "w1" : $"w{2 + i}"), $"loss {i}");
            h.Place("mlp", worker);
        }

        var record = h.Run.Record;
        Assert.Equal(4, record.Events.Count);
        Assert.Equal(EventKinds.Reactivated, record.Events[^1].Kind);
        Assert.Contains("generation 6", record.Events[^1].Message, StringComparison.Ordinal);
        Assert.Equal(10, record.Interruptions.Count);
        Assert.Equal(5, record.Interruptions.Count(e => e.Kind == EventKinds.WorkerLost));
        Assert.Equal(5, record.Interruptions.Count(e => e.Kind == EventKinds.Reactivated));
        Assert.DoesNotContain(record.Interruptions, e => e.Kind is EventKinds.Placed or EventKinds.Recovering);
    }

    [Fact]
    public void EveryChange_BumpsVersion()
    {
        var before = _h.Run.Record.Version;

        _h.Place("mlp", "w1");
        var afterPlace = _h.Run.Record.Version;
        _h.Report("mlp", "w1", PeerState.Active, step: 1);

        Assert.True(afterPlace > before);
        Assert.True(_h.Run.Record.Version > afterPlace);
    }
}
