namespace PeerDistill.Cluster.Cohorts;

/// <summary>A cohort's answer to a peer's report: whether that generation must stop, and where every peer of the run is.</summary>
[GenerateSerializer, Immutable]
public sealed record ReportReply(
    [property: Id(0)] bool Stop,
    [property: Id(1)] string Reason,
    [property: Id(2)] IReadOnlyList<PeerEndpoint> Peers);
