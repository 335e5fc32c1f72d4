using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Protocol;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// A worker process: an Orleans silo that joins the coordinator's cluster with its slots (peer
/// grains are placed on them), and the gRPC server where the peers it hosts receive logits
/// (PeerExchange), with gRPC health and reflection. Dispose it to stop: its peer grains stop their
/// peers at a step boundary with a checkpoint, and their cohorts re-activate them elsewhere.
/// </summary>
public sealed class WorkerNode : IAsyncDisposable
{
    /// <summary>How long a stop may take: every peer checkpoints (each at most a step and a checkpoint) and the silo leaves the cluster.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly GrpcServiceHost _server;

    private WorkerNode(GrpcServiceHost server, SiloSettings silo, string exchangeAddress)
    {
        _server = server;
        Silo = silo;
        ExchangeAddress = exchangeAddress;
    }

    public SiloSettings Silo { get; }

    /// <summary>Where this worker's PeerExchange is served (what other silos send logits to).</summary>
    public string ExchangeAddress { get; }

    public IServiceProvider Services => _server.Services;

    /// <summary>Completes when the host stops on its own (the silo left the cluster, or was declared dead by it).</summary>
    public Task Stopped
    {
        get
        {
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _server.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopped.TrySetResult());
            return stopped.Task;
        }
    }

    /// <summary>Completes, with why, once the coordinator is gone and this worker's peers stopped with a checkpoint (the process then joins again).</summary>
    public Task<string> CoordinatorLost => _server.Services.GetRequiredService<CoordinatorWatch>().Lost;

    /// <summary>Starts the exchange server and the silo; returns once the silo has joined the cluster.</summary>
    /// <param name="silo">The silo (role worker, its slots, the coordinator's endpoint).</param>
    /// <param name="exchange">Where the exchange listens; port 0 picks a free one.</param>
    /// <param name="advertise">The address other silos reach the exchange at, if not the one it listens on.</param>
    public static async Task<WorkerNode> StartAsync(SiloSettings silo, GrpcServiceHostOptions exchange, string? advertise = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(exchange);
        exchange.Port = FreePort.Resolve(IPAddress.Parse(exchange.Host), exchange.Port);
        var listen = exchange.Host is "0.0.0.0" or "::" ? "127.0.0.1" : exchange.Host;
        var address = HostedRun.NormalizeAddress(advertise ?? $"http://{listen}:{exchange.Port}");
        var registry = new ExchangeRegistry();
        var server = await GrpcServiceHost.StartAsync(
            exchange,
            services => services
                .AddSingleton(registry)
                .AddSingleton(new ExchangeEndpoint(address))
                .AddSingleton<SiloPeerHost>()
                .AddSingleton<CoordinatorWatch>()
                .AddHostedService(sp => sp.GetRequiredService<CoordinatorWatch>())
                .AddPeerExchange(registry, sp => sp.GetRequiredService<ILoggerFactory>().CreateLogger("PeerDistill.Exchange")),
            endpoints => endpoints.MapPeerExchange(),
            cancellationToken,
            host => host.AddSilo(silo)).ConfigureAwait(false);
        return new WorkerNode(server, silo, address);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _server.StopAsync(StopTimeout).ConfigureAwait(false);
        }
        finally
        {
            await _server.Services.GetRequiredService<SiloPeerHost>().DisposeAsync().ConfigureAwait(false);
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
