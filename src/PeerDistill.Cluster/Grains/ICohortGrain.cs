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

    /// <summary>Forgets a run that has ended: its stored state is cleared and the grain deactivates. False (nothing done) for a run that has not ended.</summary>
    Task<bool> ForgetAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Pauses the run: its peers agree on a step none has started, stop there with a checkpoint of
    /// it and release their slots; the reply says the step (or why not: a run that is not running).
    /// </summary>
    Task<SteerReply> PauseAsync(CancellationToken cancellationToken = default);

    /// <summary>Resumes a paused run: every peer is placed again and goes on from its checkpoint of the pause step (the reply's step).</summary>
    Task<SteerReply> ResumeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// A live change of the settings (its step is ignored): applied by every peer at one step none
    /// has started (the pause step of a paused run), which the reply says; kept with the run.
    /// </summary>
    Task<SteerReply> UpdateAsync(Core.Spec.CohortChange change, CancellationToken cancellationToken = default);

    /// <summary>A peer grain reports its generation's progress; the reply says whether it must stop and where the other peers are.</summary>
    Task<ReportReply> ReportAsync(PeerReport report, CancellationToken cancellationToken = default);
}
