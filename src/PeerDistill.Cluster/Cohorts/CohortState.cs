namespace PeerDistill.Cluster.Cohorts;

/// <summary>Lifecycle state of one cohort run, in its grains' state (persisted: a value keeps its number; the API has its own enum).</summary>
public enum CohortState
{
    /// <summary>Accepted; waiting for its peers to be placed.</summary>
    Pending = 1,

    /// <summary>Every peer was placed at least once and the run has not ended.</summary>
    Running = 2,

    /// <summary>Every peer completed.</summary>
    Completed = 3,

    /// <summary>A peer failed beyond recovery.</summary>
    Failed = 4,

    /// <summary>Cancelled on request.</summary>
    Cancelled = 5,

    /// <summary>Paused on request: every peer stops at one step (<see cref="CohortRecord.PauseStep"/>) with a checkpoint of it and releases its slot, until resumed.</summary>
    Paused = 6,
}
