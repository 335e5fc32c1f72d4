using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace PeerDistill.Cluster.Placement;

/// <summary>
/// Places <see cref="CoordinatorPlacement"/> grains on the silo whose metadata says it is the
/// coordinator, and <see cref="WorkerPlacement"/> grains on a random worker silo that holds the
/// cluster's database (workers of a cluster on PostgreSQL), else on the coordinator (a cluster on
/// SQLite: the database is the coordinator's file), among the silos compatible with the grain.
/// </summary>
public sealed class RolePlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var silos = context.GetCompatibleSilos(target);
        var coordinators = silos.Where(s => SiloRoles.Role(metadata.GetSiloMetadata(s)?.Metadata) == SiloRoles.Coordinator).ToList();
        if (strategy is CoordinatorPlacement)
        {
            return coordinators.Count > 0
                ? Task.FromResult(coordinators[0])
                : throw new SiloUnavailableException($"no coordinator silo is in the cluster (of {silos.Length} silo(s)) to host {target.GrainIdentity}");
        }

        var workers = silos.Where(s => metadata.GetSiloMetadata(s)?.Metadata is { } data && SiloRoles.Role(data) == SiloRoles.Worker && data.ContainsKey(SiloRoles.DatabaseKey)).ToList();
        var pool = workers.Count > 0 ? workers : coordinators.Count > 0 ? coordinators : silos.ToList();
        if (pool.Count == 0)
        {
            throw new SiloUnavailableException($"no silo is in the cluster to host {target.GrainIdentity}");
        }

        return Task.FromResult(pool[Random.Shared.Next(pool.Count)]);
    }
}
