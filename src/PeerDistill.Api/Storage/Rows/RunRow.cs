namespace PeerDistill.Api.Storage;

/// <summary>A run as stored (the database's shape; the API maps it to its read model).</summary>
/// <param name="Cohort">The cohort's name.</param>
/// <param name="Run">The run's id within the cohort.</param>
/// <param name="State">Its state, as the caller names states (the API's run states, in lower case).</param>
/// <param name="SpecText">The spec as submitted.</param>
/// <param name="SpecFormat">The spec's format (<c>yaml</c> or <c>json</c>).</param>
/// <param name="Created">When it was submitted.</param>
/// <param name="Finished">When it ended; null while it runs.</param>
/// <param name="Version">1 when created, +1 per state change (the run's ETag).</param>
/// <param name="LastEventId">Its newest event's id (0: none yet).</param>
internal sealed record RunRow(
    string Cohort,
    string Run,
    string State,
    string SpecText,
    string SpecFormat,
    DateTimeOffset Created,
    DateTimeOffset? Finished,
    long Version,
    long LastEventId)
{
    public RunKey Key => new(Cohort, Run);
}
