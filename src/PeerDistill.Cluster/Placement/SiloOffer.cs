namespace PeerDistill.Cluster.Placement;

/// <summary>A silo that can host peers: its address (parsable form), its name and its slots.</summary>
[GenerateSerializer, Immutable]
public sealed record SiloOffer(
    [property: Id(0)] string Silo,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] IReadOnlyList<SlotDescriptor> Slots);
