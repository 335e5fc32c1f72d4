using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using PeerDistill.Cluster.Transport;
using PeerDistill.Core.Telemetry;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// OpenTelemetry for a process that is not a coordinator or a worker (<c>peerdistill run</c>, the
/// benches): PeerDistill's sources and meters and the runtime's, exported over OTLP as the standard
/// <c>OTEL_*</c> variables say, and, given a metrics port, a Prometheus scrape endpoint on loopback
/// served by a web host of its own (nothing else served there). Dispose to flush what is buffered and
/// stop listening.
/// </summary>
public sealed class StandaloneTelemetry : IDisposable
{
    private readonly TracerProvider? _tracing;
    private readonly MeterProvider? _metrics;
    private readonly WebApplication? _server;

    private StandaloneTelemetry(TracerProvider tracing, MeterProvider metrics)
    {
        _tracing = tracing;
        _metrics = metrics;
    }

    private StandaloneTelemetry(WebApplication server)
    {
        _server = server;
        MetricsAddress = server.MetricsAddress();
    }

    /// <summary>Where the scrape endpoint serves (<c>http://127.0.0.1:port/metrics</c>); null without a metrics port.</summary>
    public Uri? MetricsAddress { get; }

    /// <summary>
    /// Starts exporting for a process of <paramref name="role"/> when an OTLP endpoint is configured
    /// (in <paramref name="configuration"/>, default: the environment); null otherwise (nothing listens).
    /// </summary>
    public static StandaloneTelemetry? StartIfConfigured(string role, string instanceId, IConfiguration? configuration = null) =>
        Start(role, instanceId, metricsPort: null, configuration);

    /// <summary>
    /// Starts exporting for a process of <paramref name="role"/>: over OTLP when an endpoint is configured
    /// (in <paramref name="configuration"/>, default: the environment), and to Prometheus on loopback
    /// port <paramref name="metricsPort"/> (0: a free one) when given; null when neither (nothing listens,
    /// nothing is measured). A port found taken is an <see cref="IOException"/> naming it.
    /// </summary>
    public static StandaloneTelemetry? Start(string role, string instanceId, int? metricsPort, IConfiguration? configuration = null)
    {
        if (metricsPort is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(metricsPort), metricsPort, "a metrics port must be 0 to 65535 (0: a free port)");
        }

        configuration ??= new ConfigurationBuilder().AddEnvironmentVariables().Build();
        if (metricsPort is { } port)
        {
            return new StandaloneTelemetry(Serve(role, instanceId, port, configuration));
        }

        if (!TelemetryHosting.OtlpConfigured(configuration))
        {
            return null;
        }

        void Resource(ResourceBuilder r) => TelemetryHosting.Describe(r, role, instanceId);
        var tracing = Sdk.CreateTracerProviderBuilder()
            .ConfigureServices(s => s.AddSingleton(configuration))
            .ConfigureResource(Resource)
            .AddSource([.. TelemetryNames.All])
            .AddOtlpExporter()
            .Build();
        var metrics = Sdk.CreateMeterProviderBuilder()
            .ConfigureServices(s => s.AddSingleton(configuration))
            .ConfigureResource(Resource)
            .AddMeter([.. TelemetryNames.All])
            .AddRuntimeInstrumentation()
            .AddOtlpExporter()
            .Build();
        return new StandaloneTelemetry(tracing, metrics);
    }

    /// <summary>
    /// A started web host whose only endpoint is the scrape endpoint, with the same providers a
    /// coordinator's or worker's telemetry has (OTLP too, when configured). A free port chosen for it
    /// and taken before it was bound is chosen again, as the coordinator and the worker do.
    /// </summary>
    private static WebApplication Serve(string role, string instanceId, int port, IConfiguration configuration)
    {
        for (var attempt = 1; ; attempt++)
        {
            var builder = GrpcHosting.CreateBuilder();
            builder.Configuration.AddConfiguration(configuration);
            builder.Services.AddSingleton<ServerListeners>();
            builder.AddPeerDistillTelemetry(role, instanceId, IPAddress.Loopback.ToString(), new TelemetryOptions { MetricsPort = port });
            var server = builder.Build();
            server.MapPeerDistillTelemetry();
            try
            {
                server.StartAsync().GetAwaiter().GetResult();
                return server;
            }
            catch (Exception e) when (PortConflict.Of(e, $"{IPAddress.Loopback}:{port}") is { } taken)
            {
                server.StopAndDisposeAfterFailedStartAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
                if (port != 0 || attempt >= PortConflict.Attempts)
                {
                    throw new IOException($"the metrics port cannot be listened on: {taken}", e);
                }
            }
            catch
            {
                server.StopAndDisposeAfterFailedStartAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
                throw;
            }
        }
    }

    public void Dispose()
    {
        // The providers flush on disposal: the host's with it, the others here.
        _server?.StopAndDisposeAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
        _tracing?.Dispose();
        _metrics?.Dispose();
    }
}
