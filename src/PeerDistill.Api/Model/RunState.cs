namespace PeerDistill.Api.Model;

/// <summary>Where a cohort run stands, as the API reports it.</summary>
public enum RunState
{
    /// <summary>Accepted; waiting for its peers to be placed.</summary>
    Pending,

    /// <summary>Every peer was placed at least once and the run has not ended.</summary>
    Running,

    /// <summary>Every peer completed.</summary>
    Completed,

    /// <summary>A peer failed beyond recovery.</summary>
    Failed,

    /// <summary>Cancelled on request.</summary>
    Cancelled,

    /// <summary>Paused on request: every peer stopped at one step with a checkpoint of it and holds no slot, until resumed.</summary>
    Paused,
}
