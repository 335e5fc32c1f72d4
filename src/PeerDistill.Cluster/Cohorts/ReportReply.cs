namespace PeerDistill.Cluster.Cohorts;

/// <summary>
/// A cohort's answer to a peer's report: whether that generation must stop, where every peer of
/// the run is, and a fresh exchange ticket when the generation's one nears its expiry (empty otherwise).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ReportReply(
    [property: Id(0)] bool Stop,
    [property: Id(1)] string Reason,
    [property: Id(2)] IReadOnlyList<PeerEndpoint> Peers,
    [property: Id(3)] string Ticket = "")
{
    /// <summary>For messages: never the ticket.</summary>
    public override string ToString() => $"ReportReply {{ Stop = {Stop}, Reason = {Reason}, Peers = {Peers.Count} }}";
}
