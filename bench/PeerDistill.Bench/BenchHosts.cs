using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerDistill.Api;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Security;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Bench;

/// <summary>The processes the benches host in their own process, composed as the CLI composes them, each on free loopback ports.</summary>
internal static class BenchHosts
{
    /// <summary>
    /// A started coordinator writing runs under <paramref name="output"/>; with <paramref name="tls"/>, TLS on
    /// every endpoint; with <paramref name="configuration"/>, those keys added to its configuration (as the
    /// environment would give them, e.g. OTEL_EXPORTER_OTLP_ENDPOINT).
    /// </summary>
    public static Task<CoordinatorNode> StartCoordinatorAsync(string output, LogLevel logLevel, ClusterTlsOptions? tls = null, IReadOnlyDictionary<string, string?>? configuration = null) =>
        StartOnFreePortsAsync(() => CreateCoordinator(output, logLevel, tls, configuration), c => c.StartAsync(), c => c.ClusterEndpoint);

    private static CoordinatorNode CreateCoordinator(string output, LogLevel logLevel, ClusterTlsOptions? tls, IReadOnlyDictionary<string, string?>? configuration)
    {
        var builder = GrpcHosting.CreateBuilder(logLevel);
        AddConfiguration(builder, configuration);
        builder.AddPeerDistillCoordinator(o =>
        {
            o.Port = 0;
            o.HttpPort = 0;
            o.ClusterPort = 0;
            o.Output = output;
            o.DataDirectory = Path.Combine(output, ".data");
            // A benchmark's load generators are one credential on one address: far above any limit it reaches.
            o.Access.RateLimits.PerCredential = 1_000_000;
            o.Access.RateLimits.PerAddress = 1_000_000;
            if (tls is not null)
            {
                o.Tls = tls;
            }
        });
        var app = builder.Build();
        app.MapPeerDistillCoordinator();
        return new CoordinatorNode(app);
    }

    /// <summary>
    /// A started worker with one CPU slot, joined to the cluster of <paramref name="coordinator"/>; with
    /// <paramref name="tls"/>, mutual TLS on its silo connections and exchange; with
    /// <paramref name="exchangeTicketsOff"/>, an exchange without tickets (the distributed bench's baseline);
    /// with <paramref name="configuration"/>, those keys added to its configuration.
    /// </summary>
    public static Task<WorkerNode> StartWorkerAsync(string coordinator, string id, LogLevel logLevel, ClusterTlsOptions? tls = null, bool exchangeTicketsOff = false, IReadOnlyDictionary<string, string?>? configuration = null) =>
        StartOnFreePortsAsync(() => CreateWorker(coordinator, id, logLevel, tls, exchangeTicketsOff, configuration), w => w.StartAsync(), w => $"{w.Silo.Address}:{w.Silo.SiloPort}");

    private static WorkerNode CreateWorker(string coordinator, string id, LogLevel logLevel, ClusterTlsOptions? tls, bool exchangeTicketsOff, IReadOnlyDictionary<string, string?>? configuration)
    {
        var builder = GrpcHosting.CreateBuilder(logLevel);
        AddConfiguration(builder, configuration);
        builder.AddPeerDistillWorker(o =>
        {
            o.Coordinator = coordinator;
            o.Id = id;
            o.Slots = 1;
            o.Devices = "cpu";
            o.ExchangeTicketsOff = exchangeTicketsOff;
            if (tls is not null)
            {
                o.Tls = tls;
            }
        });
        var app = builder.Build();
        app.MapPeerDistillWorker();
        return new WorkerNode(app);
    }

    /// <summary>
    /// A node made by <paramref name="create"/> and started; its ports are chosen before they are bound (0: any
    /// free one), so another process may take one in between: then it is disposed and made again on newly chosen
    /// ports, as the CLI's coordinator and worker do, up to <see cref="PortConflict.Attempts"/> times. Any other
    /// failure disposes it and is thrown.
    /// </summary>
    private static async Task<T> StartOnFreePortsAsync<T>(Func<T> create, Func<T, Task> start, Func<T, string> siloEndpoint)
        where T : IAsyncDisposable
    {
        for (var attempt = 1; ; attempt++)
        {
            var node = create();
            try
            {
                await start(node);
                return node;
            }
            catch (Exception e) when (PortConflict.Of(e, siloEndpoint(node)) is { } taken && attempt < PortConflict.Attempts)
            {
                await node.DisposeAsync();
                Console.Error.WriteLine($"warning: {taken}; starting again on other free ports");
            }
            catch
            {
                await node.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>A started gRPC server with the services <paramref name="add"/> registers and <paramref name="map"/> maps; stop it with <see cref="StopAsync"/>.</summary>
    public static async Task<WebApplication> StartGrpcAsync(Action<IServiceCollection> add, Action<WebApplication> map)
    {
        var builder = GrpcHosting.CreateBuilder();
        builder.AddPeerDistillGrpc();
        add(builder.Services);
        var app = builder.Build();
        app.MapPeerDistillGrpc();
        map(app);
        await app.StartAsync();
        return app;
    }

    /// <summary>A started PeerExchange server over <paramref name="registry"/>.</summary>
    public static Task<WebApplication> StartExchangeAsync(ExchangeRegistry registry, ILogger logger) =>
        StartGrpcAsync(s => s.AddPeerExchange(registry, logger), app => app.MapPeerExchange());

    /// <summary>Stops and disposes a server of <see cref="StartGrpcAsync"/>.</summary>
    public static Task StopAsync(WebApplication app) => app.StopAndDisposeAsync(TimeSpan.FromSeconds(5));

    /// <summary>Adds <paramref name="configuration"/> (if any) to the builder's configuration, after (over) its environment.</summary>
    private static void AddConfiguration(WebApplicationBuilder builder, IReadOnlyDictionary<string, string?>? configuration)
    {
        if (configuration is { Count: > 0 })
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }
    }
}
