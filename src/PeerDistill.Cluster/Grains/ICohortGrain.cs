using PeerDistill.Cluster.Cohorts;

namespace PeerDistill.Cluster.Grains;

/// <summary>
/// One cohort run (key <c>cohort/run</c>, see <see cref="GrainKeys"/>): holds its state, places
/// its peers, hears their reports, re-activates the peers of a silo Orleans declares dead (with
/// the next generation, from their newest checkpoint) and ends the run.
/// </summary>
public interface ICohortGrain : IGrainWithStringKey
{
    /// <summary>Starts the run (once; a second call with the same run changes nothing).</summary>
    Task StartAsync(CohortSubmission submission, CancellationToken cancellationToken = default);

    /// <summary>The run's state now; null if this grain never started a run.</summary>
    Task<CohortRecord?> GetStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>Cancels the run (its peers are stopped with a checkpoint); the state after the call.</summary>
    Task<CohortState> CancelAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>A peer grain reports its generation's progress; the reply says whether it must stop and where the other peers are.</summary>
    Task<ReportReply> ReportAsync(PeerReport report, CancellationToken cancellationToken = default);
}
