namespace PeerDistill.Cluster.Cohorts;

/// <summary>How a pause, resume or live change of a run went.</summary>
public enum SteerOutcome
{
    /// <summary>Done: the reply's step is the step it holds at.</summary>
    Done = 1,

    /// <summary>Refused in the run's state (resume a running run, pause or change a finished one).</summary>
    NotAllowed = 2,

    /// <summary>Not now (a peer is being placed or recovers, a peer did not answer); try again.</summary>
    Busy = 3,

    /// <summary>The change itself is wrong for the run (a field its strategy does not take).</summary>
    Invalid = 4,
}
