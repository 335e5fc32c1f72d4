namespace PeerDistill.Cluster.Cohorts;

/// <summary>Where a peer grain started its peer: the silo, its name, its PeerExchange address and the slot.</summary>
[GenerateSerializer, Immutable]
public sealed record PeerStarted(
    [property: Id(0)] string Silo,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] string Address,
    [property: Id(3)] int Slot);
