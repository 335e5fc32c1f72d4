namespace PeerDistill.Cluster.Placement;

/// <summary>A peer holding one slot of a worker.</summary>
/// <param name="Slot">The slot's index.</param>
/// <param name="Peer">The peer's grain key (<c>cohort/run/peer</c>).</param>
/// <param name="Started">Whether the peer has started there (else the slot is reserved for it).</param>
[GenerateSerializer, Immutable]
public sealed record SlotHolder(
    [property: Id(0)] int Slot,
    [property: Id(1)] string Peer,
    [property: Id(2)] bool Started);
