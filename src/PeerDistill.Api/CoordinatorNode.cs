using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PeerDistill.Cluster.Transport;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Api;

/// <summary>
/// The coordinator process: the cluster's primary Orleans silo (membership, the slot board and the
/// run index live on it; it hosts no peers) and the cohort API (CohortService over gRPC, with gRPC
/// health and reflection). Its grain state goes under &lt;checkpoint root&gt;/.cluster/&lt;start time&gt;:
/// a new coordinator starts a new cluster.
/// </summary>
public sealed class CoordinatorNode : IAsyncDisposable
{
    private readonly GrpcServiceHost _server;

    private CoordinatorNode(GrpcServiceHost server, SiloSettings silo)
    {
        _server = server;
        Silo = silo;
    }

    public SiloSettings Silo { get; }

    /// <summary>The cohort API's address (<c>http://host:port</c>).</summary>
    public Uri ApiAddress => _server.Address;

    /// <summary>The silo endpoint workers join (<c>host:port</c>).</summary>
    public string ClusterEndpoint => $"{Silo.Address}:{Silo.SiloPort}";

    public IServiceProvider Services => _server.Services;

    /// <summary>Starts the silo and the API; returns once both serve.</summary>
    /// <param name="api">Where the cohort API listens (port 0 picks a free one).</param>
    /// <param name="siloPort">The silo port workers join (0 picks a free one).</param>
    public static async Task<CoordinatorNode> StartAsync(ApiOptions options, GrpcServiceHostOptions api, int siloPort, string clusterId = SiloSettings.DefaultClusterId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(api);
        var address = IPAddress.Parse(api.Host is "0.0.0.0" or "::" ? "127.0.0.1" : api.Host);
        var checkpointRoot = Path.GetFullPath(options.CheckpointRoot ?? options.OutputRoot);
        var silo = new SiloSettings
        {
            Role = SiloRoles.Coordinator,
            Name = SiloRoles.Coordinator,
            Address = address,
            SiloPort = FreePort.Resolve(address, siloPort),
            ClusterId = clusterId,
            OutputRoot = Path.GetFullPath(options.OutputRoot),
            CheckpointRoot = checkpointRoot,
            StateRoot = Path.Combine(checkpointRoot, ".cluster", DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture)),
        };
        var server = await GrpcServiceHost.StartAsync(
            api,
            services => services.AddSingleton(options).AddSingleton<CohortApi>(),
            endpoints => endpoints.MapGrpcService<CohortGrpcService>(),
            cancellationToken,
            host => host.AddSilo(silo)).ConfigureAwait(false);
        return new CoordinatorNode(server, silo);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _server.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        finally
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
