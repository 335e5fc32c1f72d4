using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Serialization;
using PeerDistill.Cluster.Grains;
using PeerDistill.Cluster.Placement;
using PeerDistill.Cluster.Security;

namespace PeerDistill.Cluster.Hosting;

/// <summary>Turns an Orleans silo builder into a PeerDistill silo.</summary>
public static class SiloSetup
{
    /// <summary>
    /// Orleans' distributed grain directory. With the default directory, a silo's death deactivates
    /// every activation whose directory entry that silo held, wherever it runs: a healthy peer on a
    /// live silo would be interrupted (and re-activated from its checkpoint) whenever any other
    /// silo dies. The distributed directory recovers those entries from the live silos instead.
    /// It is marked experimental in Orleans 10 (ORLEANSEXP003).
    /// </summary>
    private static ISiloBuilder AddStronglyConsistentDirectory(this ISiloBuilder silo)
    {
#pragma warning disable ORLEANSEXP003
        return silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
    }

    /// <summary>
    /// Mutual TLS on every silo connection: this silo presents its certificate, requires one from the
    /// other side, and accepts only certificates the cluster's authority issued (the system trust
    /// store plays no part; host names are not checked: the authority's certificates are the cluster).
    /// Each connection takes the certificate and authority current when it starts
    /// (<see cref="Security.ClusterCredentials"/>: files replaced on disk are used without a restart).
    /// A refused connection is logged with the reason (<see cref="Security.TlsRefusals"/>).
    /// </summary>
    private static ISiloBuilder UseClusterTls(this ISiloBuilder silo, Security.ClusterTlsOptions files)
    {
        silo.Services.AddClusterCredentials(files);
        static Orleans.Connections.Security.TlsOptions Options(IServiceProvider services)
        {
            var credentials = services.GetRequiredService<Security.ClusterCredentials>();
            return new Orleans.Connections.Security.TlsOptions
            {
                // Orleans checks at start that a client certificate exists; the selectors below choose one per connection.
                LocalCertificate = credentials.Current.Certificate,
                LocalServerCertificateSelector = (_, _) => credentials.Current.Certificate,
                LocalClientCertificateSelector = (_, _, _, _, _) => credentials.Current.Certificate,
                RemoteCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate,
                ClientCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate,
                CheckCertificateRevocation = false,
                RemoteCertificateValidation = (certificate, _, _) => credentials.Accepts(certificate),
                OnAuthenticateAsClient = (_, client) => client.TargetHost = "peerdistill",
            };
        }

        return silo.Configure<SiloConnectionOptions>(connections =>
        {
            connections.ConfigureSiloInboundConnection(c => c.UseServerTls(Options(c.ApplicationServices)));
            connections.ConfigureGatewayInboundConnection(c => c.UseServerTls(Options(c.ApplicationServices)));
            connections.ConfigureSiloOutboundConnection(c => c.UseClientTls(Options(c.ApplicationServices)));
        });
    }

    /// <summary>
    /// Clustering (through the membership table of a PostgreSQL <see cref="SiloSettings.Database"/>;
    /// otherwise development clustering with the coordinator as primary silo), the membership
    /// timings of <see cref="SiloSettings"/>, the silo metadata, the placement directors, the Orleans
    /// dashboard's silo part (<see cref="SiloDashboard"/>) and the grain storage (Orleans' ADO.NET
    /// storage on the database; a silo without one hosts no grain with state).
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
            .AddClustering(settings)
            .Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = SiloSettings.ProbeTimeout;
                o.NumMissedProbesLimit = SiloSettings.MissedProbesLimit;
            })
            .Configure<SiloMessagingOptions>(o => o.ResponseTimeout = SiloSettings.ResponseTimeout)
            .Configure<GrainDirectoryOptions>(o => o.RangeLeaseDuration = SiloSettings.DirectoryRangeLease)
            .UseSiloMetadata(settings.Metadata())
            .AddStronglyConsistentDirectory()
            // Grain calls carry the caller's trace context: placements and peer starts sit in the API call's trace.
            .AddActivityPropagation()
            .AddPlacementDirector<SlotPlacement, SlotPlacementDirector>()
            .AddPlacementDirector<CoordinatorPlacement, RolePlacementDirector>()
            .AddPlacementDirector<WorkerPlacement, RolePlacementDirector>()
            .AddPeerDistillDashboard();
        if (settings.InKubernetesPod)
        {
            // In a pod: Orleans' Kubernetes hosting names the silo after its pod (POD_NAME, else the host
            // name; the chart makes a worker's id its pod's name too), takes the service and cluster ids
            // the chart sets, and its agent declares a silo dead as soon as its pod is gone instead of
            // after missed probes. The address the silo advertises stays the one it was given (the
            // chart gives the pod's IP).
            silo.UseKubernetesHosting();
        }

        var services = silo.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(settings);
        services.AddSingleton<ClusterRoots>();
        // Cohort grains sign exchange tickets with the cluster's key; a worker shares its exchange's keyring.
        services.TryAddSingleton<Exchange.TicketKeyring>();
        services.AddSingleton<ISlotLedger, SlotBoardLedger>();
        if (settings.Role == SiloRoles.Worker)
        {
            services.AddSingleton<IFatalErrorHandler, WorkerFatalErrorHandler>();
        }

        if (settings.Tls is { } tls)
        {
            silo.UseClusterTls(tls);
        }

        if (settings.Database is { } database)
        {
            silo.AddAdoNetGrainStorage(ClusterDatabase.GrainStorageName, o =>
            {
                o.Invariant = database.Invariant;
                o.ConnectionString = database.ConnectionString;
            });
        }

        return silo;
    }

    /// <summary>Membership in the PostgreSQL database's table when there is one (Orleans has none on SQLite), else around the coordinator.</summary>
    private static ISiloBuilder AddClustering(this ISiloBuilder silo, SiloSettings settings)
    {
        return settings.Database is { HostsMembership: true } database
            ? silo.UseAdoNetClustering(o =>
            {
                o.Invariant = database.Invariant;
                o.ConnectionString = database.ConnectionString;
            })
            : silo.UseDevelopmentClustering(settings.PrimaryEndpoint);
    }
}
