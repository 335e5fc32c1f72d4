namespace PeerDistill.Cluster.Cohorts;

/// <summary>Lifecycle state of one peer, in its cohort grain's state (persisted: a value keeps its number; the API has its own enum).</summary>
public enum PeerState
{
    /// <summary>Waiting for its first slot.</summary>
    Pending = 1,

    /// <summary>Training.</summary>
    Active = 2,

    /// <summary>Its generation was lost (silo dead, interrupted): the next one waits for a slot or is restoring its checkpoint.</summary>
    Recovering = 3,

    /// <summary>Finished all its steps.</summary>
    Completed = 4,

    /// <summary>Stopped by an error it could not recover from.</summary>
    Failed = 5,

    /// <summary>Stopped on request before it finished.</summary>
    Interrupted = 6,

    /// <summary>Placed and live, but it has waited for its teachers at one step longer than <see cref="Exchange.ExchangeSettings.StallWarningAfter"/> (its message says what for).</summary>
    Stalled = 7,

    /// <summary>Stopped at its run's pause step with a checkpoint of it; holds no slot until the run is resumed.</summary>
    Paused = 8,
}
