using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerDistill.Api.Access;
using PeerDistill.Api.Storage;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Api;

/// <summary>
/// The coordinator process: the cluster's primary Orleans silo (the slot board and the run index
/// live on it; it hosts no peers) and the cohort API (REST and gRPC). Runs and the cluster's grain
/// state are kept in its database, so a coordinator started again on the same database serves the
/// same runs, and every run that had not ended goes on from its peers' checkpoints.
/// </summary>
public sealed class CoordinatorNode : IAsyncDisposable
{
    /// <summary>How long the server and the silo may take to stop.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(10);

    private readonly WebApplication _app;
    private bool _startFailed;

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
    /// <summary>Where the coordinator serves Prometheus metrics (<c>http://host:port/metrics</c>); null without a metrics port.</summary>
    public Uri? MetricsAddress => _app.MetricsAddress();

    public Uri HttpAddress => _app.Services.GetRequiredService<ServerListeners>().Address(Rest.RestListenerSetup.Listener);

    /// <summary>The silo endpoint workers join (<c>host:port</c>).</summary>
    public string ClusterEndpoint => $"{Silo.Address}:{Silo.SiloPort}";

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Brings the database's schema up to date, starts the silo and the API, and wakes every run that
    /// had not ended (its grain re-places the peers it lost with the previous coordinator); returns once
    /// everything serves.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken).ConfigureAwait(false);
        var dataDirectory = Path.GetFullPath(_app.Services.GetRequiredService<IOptions<CoordinatorOptions>>().Value.DataDirectory);
        (FirstAdminToken, AdminTokenFile) = await _app.Services.GetRequiredService<AdminTokenBootstrap>().EnsureAsync(dataDirectory, cancellationToken).ConfigureAwait(false);
        try
        {
            await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _startFailed = true;
            throw;
        }

        try
        {
            LocalCoordinators.Advertise([ApiAddress.Port, HttpAddress.Port], File.Exists(AdminTokenFile) ? AdminTokenFile : null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LocalPointerProblem = $"the CLI on this machine will not find the admin token by itself ({LocalCoordinators.Directory}: {e.Message}); give it --token or PEERDISTILL_TOKEN";
        }

        await _app.Services.GetRequiredService<CohortApi>().WakeUnfinishedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The admin token this start made (a first start: the database had no token), to print once; null otherwise.</summary>
    public string? FirstAdminToken { get; private set; }

    /// <summary>Where the first admin token is kept (readable by its owner only).</summary>
    public string AdminTokenFile { get; private set; } = string.Empty;

    /// <summary>Why the CLI of this machine cannot find the admin token by itself, if it cannot.</summary>
    public string? LocalPointerProblem { get; private set; }

    public async ValueTask DisposeAsync()
    {
        if (_startFailed)
        {
            await _app.StopAndDisposeAfterFailedStartAsync(ShutdownTimeout).ConfigureAwait(false);
        }
        else
        {
            await _app.StopAndDisposeAsync(ShutdownTimeout).ConfigureAwait(false);
        }
    }
}
