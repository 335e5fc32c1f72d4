using Orleans.Placement;

namespace PeerDistill.Cluster.Placement;

/// <summary>Places a grain on the coordinator silo (the cluster-wide slot board and run index live with the primary silo).</summary>
[GenerateSerializer, Immutable]
public sealed class CoordinatorPlacement : PlacementStrategy
{
    internal static readonly CoordinatorPlacement Singleton = new();
}

/// <summary>Places a grain with state on a worker silo that holds the cluster's database, chosen at random (the coordinator when there is none).</summary>
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
