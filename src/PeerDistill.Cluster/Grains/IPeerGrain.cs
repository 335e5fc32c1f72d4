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
}
