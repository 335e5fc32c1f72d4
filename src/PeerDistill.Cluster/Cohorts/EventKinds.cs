namespace PeerDistill.Cluster.Cohorts;

/// <summary>The <see cref="CohortEvent.Kind"/> words a cohort records.</summary>
public static class EventKinds
{
    public const string Submitted = "submitted";
    public const string Placed = "placed";
    public const string Running = "running";
    public const string Activated = "activated";
    public const string Recovering = "recovering";
    public const string Reactivated = "reactivated";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Interrupted = "interrupted";
    public const string Cancelled = "cancelled";
    public const string WorkerLost = "worker-lost";

    /// <summary>A peer waited for its teachers at one step longer than the stall threshold (the message says what for).</summary>
    public const string Stalled = "stalled";

    /// <summary>A stalled peer stepped again.</summary>
    public const string Moving = "moving";

    /// <summary>The run pauses at a step (the run's event), or a peer stopped there with its checkpoint (the peer's).</summary>
    public const string Paused = "paused";

    /// <summary>A paused run goes on from its pause step.</summary>
    public const string Resumed = "resumed";

    /// <summary>A live change of the settings, with the step every peer applies it at.</summary>
    public const string Changed = "changed";

    /// <summary>The kinds summary.json lists as interruptions.</summary>
    public static bool IsInterruption(string kind) => kind is WorkerLost or Interrupted or Reactivated;
}
