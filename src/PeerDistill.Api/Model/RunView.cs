namespace PeerDistill.Api.Model;

/// <summary>One run of a cohort, as the API returns it (the wire forms are mapped from this, never from the cluster's state).</summary>
/// <param name="Cohort">The cohort's name (from its spec).</param>
/// <param name="Run">The run's id, unique within the cohort.</param>
/// <param name="State">Where the run stands.</param>
/// <param name="Created">When it was submitted.</param>
/// <param name="Finished">When it ended; null while it runs.</param>
/// <param name="Peers">Its peers, in the order of the spec.</param>
/// <param name="Events">Its most recent events, oldest first.</param>
/// <param name="Version">Grows with every change of the run's status.</param>
public sealed record RunView(
    string Cohort,
    string Run,
    RunState State,
    DateTimeOffset Created,
    DateTimeOffset? Finished,
    IReadOnlyList<PeerView> Peers,
    IReadOnlyList<RunEvent> Events,
    long Version)
{
    /// <summary>Where the run writes its outputs (summary, metrics files, checkpoints); empty before it was started.</summary>
    public string OutputDirectory { get; init; } = string.Empty;

    /// <summary>Where its peers write their checkpoints; empty before it was started.</summary>
    public string CheckpointDirectory { get; init; } = string.Empty;

    /// <summary>How many checkpoints each peer keeps.</summary>
    public int KeepLast { get; init; }

    /// <summary>The spec as submitted; empty for a run whose record is gone.</summary>
    public string SpecText { get; init; } = string.Empty;

    /// <summary>The spec's format (<c>yaml</c> or <c>json</c>).</summary>
    public string SpecFormat { get; init; } = "yaml";

    /// <summary>The step every peer stops at (and resumes from) while the run is paused; null otherwise.</summary>
    public long? PausedAtStep { get; init; }

    /// <summary>The live changes of the run, each with the step every peer applies it at (the spec's own are in its spec).</summary>
    public IReadOnlyList<Core.Spec.CohortChange> Changes { get; init; } = [];

    /// <summary>Whether the run has ended (completed, failed or cancelled).</summary>
    public bool IsFinished => State is RunState.Completed or RunState.Failed or RunState.Cancelled;
}
