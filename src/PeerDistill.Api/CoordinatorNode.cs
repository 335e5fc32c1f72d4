using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Api;

/// <summary>
/// The coordinator process: the cluster's primary Orleans silo (membership, the slot board and the
/// run index live on it; it hosts no peers) and the cohort API (CohortService over gRPC, with gRPC
/// health and reflection). Its grain state goes under &lt;checkpoint root&gt;/.cluster/&lt;start time&gt;:
/// a new coordinator starts a new cluster.
/// </summary>
public sealed class CoordinatorNode : IAsyncDisposable
{
    /// <summary>How long the server and the silo may take to stop.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(10);

    private readonly WebApplication _app;

    /// <summary>The coordinator of <paramref name="app"/>, built with <see cref="CoordinatorHosting.AddPeerDistillCoordinator"/> and mapped with <see cref="CoordinatorHosting.MapPeerDistillCoordinator"/>; <see cref="StartAsync"/> starts it.</summary>
    public CoordinatorNode(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        _app = app;
        Silo = app.Services.GetRequiredService<SiloSettings>();
    }

    public SiloSettings Silo { get; }

    /// <summary>The cohort API's gRPC address (<c>http://host:port</c>); known once started.</summary>
    public Uri ApiAddress => _app.GrpcAddress();

    /// <summary>The cohort API's REST address (<c>http://host:port</c>, HTTP/1.1); known once started.</summary>
    public Uri HttpAddress => _app.Services.GetRequiredService<ServerListeners>().Address(Rest.RestListenerSetup.Listener);

    /// <summary>The silo endpoint workers join (<c>host:port</c>).</summary>
    public string ClusterEndpoint => $"{Silo.Address}:{Silo.SiloPort}";

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the silo and the API; returns once both serve.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(ShutdownTimeout);
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
