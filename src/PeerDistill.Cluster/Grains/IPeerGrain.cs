using PeerDistill.Cluster.Cohorts;

namespace PeerDistill.Cluster.Grains;

/// <summary>
/// One peer of one cohort run (key <c>cohort/run/peer</c>): placed on a free slot of its device
/// by <see cref="Placement.SlotPlacementDirector"/>, it trains its peer on a dedicated thread of
/// that silo and reports to its cohort grain. Every call answers quickly.
/// </summary>
public interface IPeerGrain : IGrainWithStringKey
{
    /// <summary>Starts (or restarts with a newer generation) the peer as assigned; where it runs.</summary>
    Task<PeerStarted> StartAsync(PeerAssignment assignment, CancellationToken cancellationToken = default);

    /// <summary>Stops that generation (0: whichever runs) at its next step boundary, or at once while it waits for teachers; answers once it has stopped.</summary>
    Task<PeerStopped> StopAsync(ulong generation, bool checkpoint, string reason, CancellationToken cancellationToken = default);

    /// <summary>Asks that generation to promise not to start <paramref name="step"/> until its cohort commits or releases; refused (with the step it started) when it has.</summary>
    Task<HoldReply> HoldAsync(ulong generation, long step, CancellationToken cancellationToken = default);

    /// <summary>The cohort agreed on a live change at its step: that generation applies it there and goes on; false when it does not run here.</summary>
    Task<bool> CommitChangeAsync(ulong generation, Core.Spec.CohortChange change, CancellationToken cancellationToken = default);

    /// <summary>The cohort agreed to pause at <paramref name="step"/>: that generation stops there with a checkpoint and releases its slot; false when it does not run here.</summary>
    Task<bool> CommitPauseAsync(ulong generation, long step, CancellationToken cancellationToken = default);

    /// <summary>The cohort decided nothing: that generation's hold ends.</summary>
    Task ReleaseHoldAsync(ulong generation, CancellationToken cancellationToken = default);
}
