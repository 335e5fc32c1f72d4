namespace PeerDistill.Cluster.Placement;

/// <summary>One place on a silo where a single peer trains.</summary>
/// <param name="Index">Index of the slot on its silo (0-based, unique per silo).</param>
/// <param name="Device">Torch device: <c>cpu</c> or <c>cuda:N</c>.</param>
/// <param name="Threads">CPU threads a peer in the slot may use (intra-op); 0 lets the spec decide.</param>
[GenerateSerializer, Immutable]
public sealed record SlotDescriptor(
    [property: Id(0)] int Index,
    [property: Id(1)] string Device,
    [property: Id(2)] int Threads);
