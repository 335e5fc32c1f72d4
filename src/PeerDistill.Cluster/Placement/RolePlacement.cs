using Orleans.Placement;

namespace PeerDistill.Cluster.Placement;

/// <summary>Places a grain on the coordinator silo (the cluster-wide slot board and run index live with the primary silo).</summary>
[GenerateSerializer, Immutable]
public sealed class CoordinatorPlacement : PlacementStrategy
{
    internal static readonly CoordinatorPlacement Singleton = new();
}

/// <summary>Places a grain on a worker silo, chosen at random (the coordinator only when there is no worker).</summary>
[GenerateSerializer, Immutable]
public sealed class WorkerPlacement : PlacementStrategy
{
    internal static readonly WorkerPlacement Singleton = new();
}

/// <summary>Marks a grain class placed by <see cref="CoordinatorPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class CoordinatorPlacementAttribute() : PlacementAttribute(CoordinatorPlacement.Singleton);

/// <summary>Marks a grain class placed by <see cref="WorkerPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class WorkerPlacementAttribute() : PlacementAttribute(WorkerPlacement.Singleton);
