using Orleans.Placement;

namespace PeerDistill.Cluster.Placement;

/// <summary>Places a peer grain on a silo with a free slot of the device its spec asks for, one peer per slot (<see cref="SlotPlacementDirector"/>).</summary>
[GenerateSerializer, Immutable]
public sealed class SlotPlacement : PlacementStrategy
{
    internal static readonly SlotPlacement Singleton = new();
}

/// <summary>Marks a grain class placed by <see cref="SlotPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SlotPlacementAttribute() : PlacementAttribute(SlotPlacement.Singleton);
