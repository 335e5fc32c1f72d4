namespace PeerDistill.Api.Model;

/// <summary>Where one peer of a run stands, as the API reports it.</summary>
public enum PeerState
{
    /// <summary>Waiting for its first slot.</summary>
    Pending,

    /// <summary>Training.</summary>
    Active,

    /// <summary>Its generation was lost; the next one waits for a slot or restores its checkpoint.</summary>
    Recovering,

    /// <summary>Placed and live, but waiting for its teachers at one step for a long time (its message says what for).</summary>
    Stalled,

    /// <summary>Finished all its steps.</summary>
    Completed,

    /// <summary>Stopped by an error it could not recover from.</summary>
    Failed,

    /// <summary>Stopped on request before it finished.</summary>
    Interrupted,

    /// <summary>Stopped at its run's pause step with a checkpoint of it; holds no slot until the run resumes.</summary>
    Paused,
}
