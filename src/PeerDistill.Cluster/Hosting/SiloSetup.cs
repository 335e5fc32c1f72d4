using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Serialization;
using PeerDistill.Cluster.Grains;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Hosting;

/// <summary>Turns an Orleans silo builder into a PeerDistill silo.</summary>
public static class SiloSetup
{
    /// <summary>
    /// Development clustering with the coordinator as primary silo (for one machine and tests;
    /// durable clustering on a database comes with persistence), the membership timings of
    /// <see cref="SiloSettings"/>, the silo metadata, the placement directors and the grain storage.
    /// </summary>
    public static ISiloBuilder AddPeerDistill(this ISiloBuilder silo, SiloSettings settings)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = SiloSettings.DefaultClusterId;
            })
            .Configure<SiloOptions>(o => o.SiloName = settings.Name)
            .ConfigureEndpoints(settings.Address, settings.SiloPort, gatewayPort: 0, listenOnAnyHostAddress: false)
            .UseDevelopmentClustering(settings.PrimaryEndpoint)
            .Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = SiloSettings.ProbeTimeout;
                o.NumMissedProbesLimit = SiloSettings.MissedProbesLimit;
            })
            .Configure<SiloMessagingOptions>(o => o.ResponseTimeout = SiloSettings.ResponseTimeout)
            .UseSiloMetadata(settings.Metadata())
            .AddPlacementDirector<SlotPlacement, SlotPlacementDirector>()
            .AddPlacementDirector<CoordinatorPlacement, RolePlacementDirector>()
            .AddPlacementDirector<WorkerPlacement, RolePlacementDirector>();
        var services = silo.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(settings);
        services.AddSingleton<ClusterRoots>();
        services.AddSingleton<ISlotLedger, SlotBoardLedger>();
        services.AddGrainStorage(ClusterStorage.Name, (sp, _) =>
        {
            var roots = sp.GetRequiredService<ClusterRoots>();
            return new ClusterStorage(() => roots.StateRoot, sp.GetRequiredService<Serializer>(), sp.GetRequiredService<ILogger<ClusterStorage>>());
        });
        return silo;
    }
}
