using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Placement;
using PeerDistill.Cluster.Security;
using PeerDistill.Cluster.Transport;
using PeerDistill.Torch;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// Composes a worker process: <see cref="AddPeerDistillWorker"/> on the host builder (from
/// <c>GrpcHosting.CreateBuilder</c>), <see cref="MapPeerDistillWorker"/> on the built app, then a
/// <see cref="WorkerNode"/> over the app starts it and joins the cluster.
/// </summary>
public static class WorkerHosting
{
    /// <summary>
    /// A worker: its <see cref="WorkerOptions"/> bound from the configuration section
    /// <see cref="WorkerOptions.Section"/>, then <paramref name="configure"/>, and checked (an
    /// <see cref="OptionsValidationException"/> naming every wrong key); the silo with its slots that
    /// joins the coordinator's cluster, and the PeerExchange its peers receive logits on (with TLS: mutual
    /// TLS, the cluster's certificates on both sides, as between silos).
    /// </summary>
    public static IHostApplicationBuilder AddPeerDistillWorker(this IHostApplicationBuilder builder, Action<WorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new WorkerOptions();
        builder.Configuration.GetSection(WorkerOptions.Section).Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        configure?.Invoke(options);
        if (options.Problems().ToList() is { Count: > 0 } problems)
        {
            throw new OptionsValidationException(WorkerOptions.Section, typeof(WorkerOptions), problems.Select(p => $"{WorkerOptions.Section}:{p.Key}: {p.Message}"));
        }

        // What is left to choose is chosen once, here: a restarted host of the same process (it joins
        // the next coordinator) is given the same id and exchange port by its caller.
        var address = IPAddress.Parse(options.Host);
        options.Id ??= "w-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        options.Port = FreePort.Resolve(address, options.Port);
        var listen = options.Host is "0.0.0.0" or "::" ? "127.0.0.1" : options.Host;
        var scheme = options.Tls.IsConfigured ? "https" : "http";
        var advertised = options.Advertise is { } given && !given.Contains("://", StringComparison.Ordinal) ? $"{scheme}://{given}" : options.Advertise;
        var exchangeAddress = HostedRun.NormalizeAddress(advertised ?? $"{scheme}://{listen}:{options.Port}");
        var silo = new SiloSettings
        {
            Role = SiloRoles.Worker,
            Name = options.Id,
            Address = address,
            SiloPort = FreePort.Resolve(address, options.ClusterPort),
            Primary = string.IsNullOrWhiteSpace(options.Coordinator) ? null : IPEndPoint.Parse(options.Coordinator),
            Database = string.IsNullOrWhiteSpace(options.Database) ? null : new ClusterDatabase(ClusterDatabase.PostgresInvariant, options.Database),
            ClusterId = options.ClusterId,
            Slots = SlotsOf(options.Slots, options.Devices),
            Tls = options.Tls.IsConfigured ? options.Tls : null,
        };
        builder.Services.AddSingleton(Options.Create(options));
        if (options.Tls.IsConfigured)
        {
            builder.Services.AddClusterCredentials(options.Tls);
        }

        builder.AddPeerDistillGrpc(grpc =>
        {
            grpc.Host = options.Host;
            grpc.Port = options.Port;
            // The exchange's senders are the cluster's other workers: each presents its node certificate.
            grpc.RequireClientCertificate = true;
        });
        var registry = new ExchangeRegistry { TicketsOff = options.ExchangeTicketsOff };
        builder.Services
            .AddSingleton(registry)
            .AddSingleton(registry.Tickets)
            .AddSingleton(new ExchangeEndpoint(exchangeAddress))
            .AddSingleton<SiloPeerHost>()
            .AddSingleton<CoordinatorWatch>()
            .AddHostedService(sp => sp.GetRequiredService<CoordinatorWatch>())
            .AddPeerExchange(registry, sp => sp.GetRequiredService<ILoggerFactory>().CreateLogger("PeerDistill.Exchange"))
            // The exchange port is open to the cluster's network: reflection answers this machine only.
            .AddLoopbackOnlyReflection();
        builder.Services.AddSingleton(options.Telemetry.Sampling);
        builder.AddPeerDistillTelemetry(SiloRoles.Worker, options.Id, options.Host, options.Telemetry, silo.Slots.Select(s => s.Device).Distinct().ToList());
        builder.AddPeerDistillSilo(silo);
        return builder;
    }

    /// <summary>The worker's gRPC endpoints: the PeerExchange, health and reflection (to callers on this machine only).</summary>
    public static WebApplication MapPeerDistillWorker(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPeerDistillTelemetry();
        app.MapPeerDistillGrpc();
        app.MapPeerExchange();
        return app;
    }

    /// <summary>The slots of (checked) options: the devices given, else one per visible GPU, else one CPU slot per two cores.</summary>
    internal static List<SlotDescriptor> SlotsOf(int? count, string? devices)
    {
        List<string> list;
        if (devices is not null)
        {
            list = WorkerOptions.DeviceList(devices);
        }
        else
        {
            var cuda = TorchRuntime.CudaDeviceCount;
            var n = count ?? (cuda > 0 ? cuda : Math.Max(1, Environment.ProcessorCount / 2));
            list = Enumerable.Range(0, n).Select(i => cuda > 0 ? $"cuda:{i % cuda}" : "cpu").ToList();
        }

        return list.Select((d, i) => new SlotDescriptor(i, d, 0)).ToList();
    }
}
