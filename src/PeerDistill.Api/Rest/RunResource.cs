namespace PeerDistill.Api.Rest;

/// <summary>One run of a cohort, as the REST API returns it (JSON, snake_case).</summary>
/// <param name="Cohort">The cohort's name (from its spec).</param>
/// <param name="Run">The run's id, unique within the cohort.</param>
/// <param name="State">Where the run stands.</param>
/// <param name="Created">When it was submitted (RFC 3339, UTC).</param>
/// <param name="Finished">When it ended; null while it runs.</param>
/// <param name="Version">Grows with every change of the run's status; the run's ETag is this number in quotes.</param>
/// <param name="PausedAtStep">While paused: the step every peer stopped at and resumes from; null otherwise.</param>
/// <param name="Peers">Its peers, in the order of the spec.</param>
/// <param name="Changes">The live changes made to it, each with the step every peer applies it at (the spec's own are in its spec).</param>
/// <param name="Events">Its most recent events, oldest first.</param>
public sealed record RunResource(
    string Cohort,
    string Run,
    RunStateJson State,
    DateTimeOffset Created,
    DateTimeOffset? Finished,
    long Version,
    long? PausedAtStep,
    IReadOnlyList<PeerResource> Peers,
    IReadOnlyList<ChangeResource> Changes,
    IReadOnlyList<EventResource> Events);
