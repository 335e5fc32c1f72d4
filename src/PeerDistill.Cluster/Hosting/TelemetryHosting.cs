using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using PeerDistill.Cluster.Transport;
using PeerDistill.Core.Telemetry;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// OpenTelemetry for a coordinator or a worker: PeerDistill's sources and meters
/// (<see cref="TelemetryNames"/>), Orleans' (grain calls, placement, storage), ASP.NET Core's,
/// HttpClient's, gRPC client's and the runtime's, with the process's resource (service name per role,
/// instance id = silo name, host, devices). OTLP export when the standard <c>OTEL_EXPORTER_OTLP_*</c>
/// variables name an endpoint (every other <c>OTEL_*</c> variable honoured by the SDK); a Prometheus
/// scrape endpoint on <see cref="TelemetryOptions.MetricsPort"/>. Neither: no provider is built, nothing
/// listens, nothing is measured.
/// </summary>
public static class TelemetryHosting
{
    /// <summary>The name of the metrics listener among the server's listeners.</summary>
    public const string MetricsListener = "metrics";

    /// <summary>The path of the Prometheus scrape endpoint.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The variables that turn the OTLP export on (any of them set).</summary>
    public static readonly IReadOnlyList<string> OtlpEndpointVariables =
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"];

    /// <summary>The service name of each role (<c>service.name</c>).</summary>
    public static string ServiceName(string role) => "peerdistill-" + role;

    /// <summary>
    /// Adds the telemetry of a process of <paramref name="role"/> named <paramref name="instanceId"/>
    /// listening on <paramref name="host"/>; <paramref name="options"/> are the role's (checked). A
    /// metrics port of 0 is chosen here.
    /// </summary>
    public static IHostApplicationBuilder AddPeerDistillTelemetry(this IHostApplicationBuilder builder, string role, string instanceId, string host, TelemetryOptions options, IReadOnlyList<string>? devices = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var otlp = OtlpConfigured(builder.Configuration);
        int? metricsPort = options.MetricsPort is { } port ? FreePort.Resolve(IPAddress.Parse(host), port) : null;
        var endpoint = new TelemetryEndpoint(otlp, metricsPort);
        builder.Services.AddSingleton(endpoint);
        if (!endpoint.Any)
        {
            return builder;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => Describe(r, role, instanceId, devices))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter([.. TelemetryNames.All, TelemetryNames.OrleansMeter])
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }

                if (metricsPort is not null)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource([.. TelemetryNames.All, .. TelemetryNames.OrleansSources])
                // Before the exporter: Orleans' background spans are left out when they start.
                .AddProcessor(new OrleansRootSpanFilter())
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsProbe(context))
                .AddHttpClientInstrumentation()
                .AddGrpcClientInstrumentation()
                .AddOtlpExporter());
        }

        if (metricsPort is not null)
        {
            builder.Services.AddSingleton<IConfigureOptions<KestrelServerOptions>>(sp => new MetricsListenerSetup(host, metricsPort.Value, sp.GetRequiredService<ServerListeners>()));
        }

        return builder;
    }

    /// <summary>Whether <paramref name="configuration"/> (a host's includes the environment) names an OTLP endpoint.</summary>
    internal static bool OtlpConfigured(IConfiguration configuration) =>
        OtlpEndpointVariables.Any(v => !string.IsNullOrWhiteSpace(configuration[v]));

    /// <summary>The resource of a process of <paramref name="role"/>: service name, version and instance, host, role, and its devices where it has slots.</summary>
    internal static ResourceBuilder Describe(ResourceBuilder resource, string role, string instanceId, IReadOnlyList<string>? devices = null)
    {
        var attributes = new List<KeyValuePair<string, object>>
        {
            new("host.name", Environment.MachineName),
            new("peerdistill.role", role),
        };
        if (devices is { Count: > 0 })
        {
            attributes.Add(new("peerdistill.devices", string.Join(",", devices)));
        }

        return resource.AddService(ServiceName(role), serviceVersion: TelemetryNames.Version, serviceInstanceId: instanceId).AddAttributes(attributes);
    }

    /// <summary>
    /// The Prometheus scrape endpoint on the metrics listener, which answers nothing else (404); call it
    /// before the role's own endpoints are mapped.
    /// </summary>
    public static WebApplication MapPeerDistillTelemetry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetRequiredService<TelemetryEndpoint>().MetricsPort is not { } port)
        {
            return app;
        }

        app.UseOpenTelemetryPrometheusScrapingEndpoint(context => context.Connection.LocalPort == port && context.Request.Path == MetricsPath);
        app.Use((context, next) =>
        {
            if (context.Connection.LocalPort != port)
            {
                return next(context);
            }

            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        return app;
    }

    /// <summary>Where a started process serves its metrics (<c>http://host:port/metrics</c>); null without a metrics port.</summary>
    public static Uri? MetricsAddress(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<TelemetryEndpoint>().MetricsPort is null
            ? null
            : new Uri(app.Services.GetRequiredService<ServerListeners>().Address(MetricsListener), MetricsPath);
    }

    // Health probes and scrapes are not traced: they come every few seconds and say nothing of the work.
    private static bool IsProbe(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/grpc.health.v1.Health", StringComparison.Ordinal)
        || context.Request.Path.StartsWithSegments("/api/v1/health", StringComparison.Ordinal)
        || context.Request.Path == MetricsPath;

    private sealed class MetricsListenerSetup(string host, int port, ServerListeners listeners) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel) =>
            kestrel.Listen(IPAddress.Parse(host), port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listeners.Add(MetricsListener, listen, tls: false);
            });
    }
}
