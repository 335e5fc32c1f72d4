namespace PeerDistill.Core.Runner;

/// <summary>
/// The one schema of <c>summary.json</c>, embedded and distributed alike. Every summary has
/// <c>schema</c> (<see cref="Version"/>), <c>mode</c> (<see cref="Embedded"/> or <see cref="Distributed"/>),
/// <c>cohort</c>, <c>run</c>, <c>strategy</c>, <c>state</c> (<c>completed</c>, <c>failed</c>,
/// <c>cancelled</c>, <c>interrupted</c>), <c>finished_at</c>, <c>wall_seconds</c> and <c>peers</c>: per
/// peer <c>peer</c>, <c>model</c>, <c>state</c>, <c>steps</c>, <c>test_accuracy</c> (null when not
/// evaluated) and <c>message</c>. Each mode adds what only it knows: an embedded run its data set, its
/// baseline comparison and ensembles (<c>runs</c>, <c>comparison</c>, <c>ensemble</c>, <c>federation</c>);
/// a distributed run its directories, each peer's worker and generation, and its interruptions.
/// </summary>
public static class SummarySchema
{
    /// <summary>The schema's name and version, written as <c>schema</c>.</summary>
    public const string Version = "peerdistill.summary/1";

    /// <summary>The <c>mode</c> of a run of <c>peerdistill run</c> (one process).</summary>
    public const string Embedded = "embedded";

    /// <summary>The <c>mode</c> of a run on a cluster.</summary>
    public const string Distributed = "distributed";
}
