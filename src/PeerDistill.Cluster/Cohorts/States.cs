namespace PeerDistill.Cluster.Cohorts;

/// <summary>Helpers over the lifecycle enums.</summary>
public static class States
{
    /// <summary>Completed, failed or interrupted: the peer no longer trains.</summary>
    public static bool IsFinished(PeerState state) => state is PeerState.Completed or PeerState.Failed or PeerState.Interrupted;

    /// <summary>Completed, failed or cancelled.</summary>
    public static bool IsFinished(CohortState state) => state is CohortState.Completed or CohortState.Failed or CohortState.Cancelled;

    /// <summary>Pending, active, stalled or recovering: the peer holds (or wants) a slot.</summary>
    public static bool IsTraining(PeerState state) => state is PeerState.Active or PeerState.Stalled or PeerState.Pending or PeerState.Recovering;

    /// <summary>Active or stalled: a generation that trains on its slot now.</summary>
    public static bool IsLive(PeerState state) => state is PeerState.Active or PeerState.Stalled;

    /// <summary>Running or paused: a run that has not ended and whose peers were all placed once.</summary>
    public static bool IsUnderway(CohortState state) => state is CohortState.Running or CohortState.Paused;

    /// <summary>"active", "completed", ... (lower case, as in events, summaries and the CLI).</summary>
    public static string Name(PeerState state) => state.ToString().ToLowerInvariant();

    /// <summary>"running", "completed", ... (lower case).</summary>
    public static string Name(CohortState state) => state.ToString().ToLowerInvariant();
}
