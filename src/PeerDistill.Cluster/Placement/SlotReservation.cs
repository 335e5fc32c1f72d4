namespace PeerDistill.Cluster.Placement;

/// <summary>A slot held for one peer (its grain key) on one silo.</summary>
[GenerateSerializer, Immutable]
public sealed record SlotReservation(
    [property: Id(0)] string Peer,
    [property: Id(1)] string Silo,
    [property: Id(2)] string WorkerId,
    [property: Id(3)] SlotDescriptor Slot);
