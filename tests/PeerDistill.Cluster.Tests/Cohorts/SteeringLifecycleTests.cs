using PeerDistill.Cluster.Cohorts;
using PeerDistill.Core.Spec;
using Xunit;

namespace PeerDistill.Cluster.Tests.Cohorts;

/// <summary>The lifecycle rules of pause, resume and live changes: which states allow them, what a paused peer's report does, what a resumed peer is handed.</summary>
public sealed class SteeringLifecycleTests
{
    private readonly Lifecycle _h = new(Path.Combine(Path.GetTempPath(), "peerdistill-lifecycle-unused"));

    [Fact]
    public void PendingRun_PauseIsBusy_ResumeIsNotAllowed()
    {
        Assert.Equal(SteerOutcome.Busy, _h.Run.PauseRefusal()?.Outcome);
        Assert.Equal(SteerOutcome.NotAllowed, _h.Run.ResumeRefusal()?.Outcome);
        Assert.Equal(SteerOutcome.Busy, _h.Run.UpdateRefusal()?.Outcome);
    }

    [Fact]
    public void PausedPeersReportingInterrupted_ArePausedWithoutSlots_AndTheRunResumesFromTheStep()
    {
        _h.PlaceAllActive();
        Assert.Null(_h.Run.PauseRefusal());
        var (agreeing, _) = _h.Run.Agreeing();
        Assert.Equal(3, agreeing!.Count);

        _h.Run.Pause(40);
        Assert.Equal((CohortState.Paused, 40L), (_h.Run.Record.State, _h.Run.Record.PauseStep));
        Assert.Equal(SteerOutcome.NotAllowed, _h.Run.PauseRefusal()?.Outcome);
        _h.Report("mlp", "w1", PeerState.Interrupted, step: 40, checkpoint: 40);
        Assert.Equal(SteerOutcome.Busy, _h.Run.ResumeRefusal()?.Outcome);
        _h.Report("cnn", "w2", PeerState.Interrupted, step: 40, checkpoint: 40);
        _h.Report("wide", "w3", PeerState.Interrupted, step: 40, checkpoint: 40);

        Assert.All(_h.Run.Record.Peers, p => Assert.Equal((PeerState.Paused, false, 40L), (p.State, p.Placed, p.Step)));
        Assert.Empty(_h.Run.Waiting());
        Assert.Null(_h.Run.ResumeRefusal());

        // A change of a paused run holds from the step it resumes at; every later activation is handed it.
        _h.Run.AddChange(new CohortChange { Alpha = 0.5 }.At(40));
        Assert.Equal(40, _h.Run.Resume());
        Assert.Equal(CohortState.Running, _h.Run.Record.State);
        Assert.All(_h.Run.Record.Peers, p => Assert.Equal((PeerState.Recovering, 2UL), (p.State, p.Generation)));
        var assignment = _h.Run.AssignmentFor(_h.Peer("mlp"), newestCheckpoint: 40);
        Assert.Equal((40L, true), (assignment.ResumeFromStep, assignment.WaitForCohort));
        Assert.Equal([new CohortChange { Step = 40, Alpha = 0.5 }], assignment.Changes);
        Assert.Equal(
            [EventKinds.Paused, EventKinds.Paused, EventKinds.Paused, EventKinds.Paused, EventKinds.Changed, EventKinds.Resumed],
            _h.Run.Record.Events.Select(e => e.Kind).SkipWhile(k => k != EventKinds.Paused));
    }

    [Fact]
    public void PeerNotTraining_CannotAgree_AndAFinishedRunTakesNoChange()
    {
        _h.Place("mlp", "w1");
        _h.Report("mlp", "w1", PeerState.Active);
        var (peers, why) = _h.Run.Agreeing();
        Assert.Null(peers);
        Assert.StartsWith("peer 'cnn' is pending", why, StringComparison.Ordinal);

        _h.Run.Cancel("enough");
        Assert.Equal(SteerOutcome.NotAllowed, _h.Run.UpdateRefusal()?.Outcome);
        Assert.Equal(SteerOutcome.NotAllowed, _h.Run.PauseRefusal()?.Outcome);
    }
}
