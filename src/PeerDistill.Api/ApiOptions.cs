namespace PeerDistill.Api;

/// <summary>Where submitted cohorts write, and how much of their history a status keeps.</summary>
public sealed class ApiOptions
{
    /// <summary>
    /// Where runs write: a run's output directory is <c>&lt;OutputRoot&gt;/&lt;cohort&gt;/&lt;run&gt;</c>
    /// unless its spec names an absolute <c>output</c> under this root. As seen by every silo: in a
    /// cluster, shared storage mounted at the same path everywhere.
    /// </summary>
    public required string OutputRoot { get; init; }

    /// <summary>
    /// Where runs keep their checkpoints. Null means <c>&lt;output dir&gt;/checkpoints</c>; otherwise
    /// <c>&lt;CheckpointRoot&gt;/&lt;cohort&gt;/&lt;run&gt;</c>. A spec's <c>checkpoints.directory</c>
    /// wins over both (relative to this root, or to <see cref="OutputRoot"/>).
    /// </summary>
    public string? CheckpointRoot { get; init; }

    /// <summary>The most events a run keeps for its status (the oldest are dropped; interruptions are all kept for the summary).</summary>
    public int MaxEventsPerRun { get; init; } = 500;

    /// <summary>How often a watch looks for a change of the run's status.</summary>
    public TimeSpan WatchInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How old a run's status read by a get, a list or a watch may be: reads within this age share one
    /// call to the run's grain. A change made through the API (cancel, pause, resume, update, delete,
    /// submit) is seen by every read after it.
    /// </summary>
    public TimeSpan ReadCacheAge { get; init; } = TimeSpan.FromMilliseconds(200);
}
