namespace PeerDistill.Coordinator;

/// <summary>How a coordinator treats its workers and where cohort runs write.</summary>
public sealed class CoordinatorOptions
{
    /// <summary>
    /// How long a worker stays alive without a successful heartbeat (default 5 s); after that its
    /// peers are re-placed on other workers.
    /// </summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The heartbeat interval workers are asked to keep (default 1 s); well below <see cref="Lease"/>.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often <see cref="CoordinatorHost"/> calls <see cref="CoordinatorState.Tick"/> (lease
    /// expiry, placement), default 250 ms.
    /// </summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Where runs write (default <c>runs</c>): a run's output directory is
    /// <c>&lt;OutputRoot&gt;/&lt;cohort&gt;/&lt;run&gt;</c> unless its spec names an absolute <c>output</c>.
    /// As seen by the workers: in a cluster, shared storage mounted at the same path everywhere.
    /// </summary>
    public string OutputRoot { get; set; } = "runs";

    /// <summary>
    /// Where runs keep their checkpoints. Null (the default) means <c>&lt;output dir&gt;/checkpoints</c>
    /// (under <see cref="OutputRoot"/>); otherwise <c>&lt;CheckpointRoot&gt;/&lt;cohort&gt;/&lt;run&gt;</c>.
    /// A spec's <c>checkpoints.directory</c> wins over both (relative to this root, or to <see cref="OutputRoot"/>).
    /// </summary>
    public string? CheckpointRoot { get; set; }

    /// <summary>The most events a run keeps for its status (the oldest are dropped; interruptions are always kept for the summary).</summary>
    public int MaxEventsPerRun { get; set; } = 500;

    /// <summary>The clock (a fake one in tests).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
