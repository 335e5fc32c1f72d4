namespace PeerDistill.Cluster.Cohorts;

/// <summary>One thing that happened to a cohort run.</summary>
/// <param name="UnixMillis">When, in milliseconds since the Unix epoch (clock of the silo hosting the cohort).</param>
/// <param name="Peer">The peer it concerns; empty for the whole run.</param>
/// <param name="Kind">One of <see cref="EventKinds"/>.</param>
/// <param name="Message">Human-readable detail.</param>
[GenerateSerializer, Immutable]
public sealed record CohortEvent(
    [property: Id(0)] long UnixMillis,
    [property: Id(1)] string Peer,
    [property: Id(2)] string Kind,
    [property: Id(3)] string Message);
