namespace PeerDistill.Cluster.Cohorts;

/// <summary>
/// Everything a cohort run's grain holds: the spec, where it writes, each peer's placement,
/// generation, progress and newest checkpoint, the events. It is the grain's persistent state
/// (written off the silo, so a cohort whose silo dies carries on from it elsewhere).
/// </summary>
[GenerateSerializer]
public sealed class CohortRecord
{
    [Id(0)] public string Cohort { get; set; } = string.Empty;

    [Id(1)] public string Run { get; set; } = string.Empty;

    /// <summary>The spec exactly as submitted; sent once with every activation of a peer.</summary>
    [Id(2)] public string SpecText { get; set; } = string.Empty;

    /// <summary><c>yaml</c> or <c>json</c>.</summary>
    [Id(3)] public string SpecFormat { get; set; } = "yaml";

    /// <summary>The spec's strategy key (for summaries).</summary>
    [Id(4)] public string Strategy { get; set; } = string.Empty;

    [Id(5)] public string OutputDirectory { get; set; } = string.Empty;

    /// <summary>The checkpoint directory handed to peers (the checkpoint store adds &lt;run&gt;/&lt;peer&gt;).</summary>
    [Id(6)] public string CheckpointDirectory { get; set; } = string.Empty;

    /// <summary>checkpoints.keep_last of the spec (to list a peer's checkpoints the way it writes them).</summary>
    [Id(7)] public int KeepLast { get; set; }

    [Id(8)] public long CreatedUnixMillis { get; set; }

    [Id(9)] public long? FinishedUnixMillis { get; set; }

    [Id(10)] public CohortState State { get; set; } = CohortState.Pending;

    /// <summary>The peers, in the order of the spec.</summary>
    [Id(11)] public List<PeerRecord> Peers { get; set; } = [];

    /// <summary>The most recent events, oldest first.</summary>
    [Id(12)] public List<CohortEvent> Events { get; set; } = [];

    /// <summary>Every worker-lost, interrupted and reactivated event (for summary.json).</summary>
    [Id(13)] public List<CohortEvent> Interruptions { get; set; } = [];

    /// <summary>Counts the changes of the run's status (watchers look for it to move).</summary>
    [Id(14)] public long Version { get; set; }

    /// <summary>The most events kept for the status (older ones are dropped; interruptions are all kept).</summary>
    [Id(15)] public int MaxEvents { get; set; } = 500;

    /// <summary>The live changes announced to the run, each with the step every peer applies it at, in step order (handed to every activation of a peer, so a resumed or re-activated one applies them too).</summary>
    [Id(16)] public List<Core.Spec.CohortChange> Changes { get; set; } = [];

    /// <summary>The step every peer stops at (and is checkpointed at) while the run is paused; null otherwise.</summary>
    [Id(17)] public long? PauseStep { get; set; }

    /// <summary>The W3C traceparent of the run's span (made at its submission when it was traced; its peers' activations and placements are its children); empty otherwise.</summary>
    [Id(18)] public string TraceParent { get; set; } = string.Empty;

    public bool IsStarted => Run.Length > 0;

    public bool IsFinished => States.IsFinished(State);

    public PeerRecord? FindPeer(string name) => Peers.Find(p => p.Name == name);
}
