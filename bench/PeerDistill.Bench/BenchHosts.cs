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
    public static async Task<CoordinatorNode> StartCoordinatorAsync(string output, LogLevel logLevel, ClusterTlsOptions? tls = null, IReadOnlyDictionary<string, string?>? configuration = null)
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
        var coordinator = new CoordinatorNode(app);
        await coordinator.StartAsync();
        return coordinator;
    }

    /// <summary>
    /// A started worker with one CPU slot, joined to the cluster of <paramref name="coordinator"/>; with
    /// <paramref name="tls"/>, mutual TLS on its silo connections and exchange; with
    /// <paramref name="exchangeTicketsOff"/>, an exchange without tickets (the distributed bench's baseline);
    /// with <paramref name="configuration"/>, those keys added to its configuration.
    /// </summary>
    public static async Task<WorkerNode> StartWorkerAsync(string coordinator, string id, LogLevel logLevel, ClusterTlsOptions? tls = null, bool exchangeTicketsOff = false, IReadOnlyDictionary<string, string?>? configuration = null)
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
        var worker = new WorkerNode(app);
        try
        {
            await worker.StartAsync();
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }

        return worker;
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
