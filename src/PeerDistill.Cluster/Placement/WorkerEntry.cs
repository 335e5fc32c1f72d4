namespace PeerDistill.Cluster.Placement;

/// <summary>One worker silo as the slot board sees it.</summary>
/// <param name="Worker">The worker's id (its silo's name).</param>
/// <param name="Silo">Its silo (Orleans address, parsable form).</param>
/// <param name="Slots">Its slots.</param>
/// <param name="TakesPeers">Whether it is offered to new peers (admitted under its id, and not stopping).</param>
/// <param name="Holders">The peers that hold its slots.</param>
[GenerateSerializer, Immutable]
public sealed record WorkerEntry(
    [property: Id(0)] string Worker,
    [property: Id(1)] string Silo,
    [property: Id(2)] IReadOnlyList<SlotDescriptor> Slots,
    [property: Id(3)] bool TakesPeers,
    [property: Id(4)] IReadOnlyList<SlotHolder> Holders);
