using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using PeerDistill.Core.Telemetry;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// OpenTelemetry for a process without a web host (<c>peerdistill run</c>, the benches): PeerDistill's
/// sources and meters and the runtime's, exported over OTLP as the standard <c>OTEL_*</c> variables say.
/// Dispose to flush what is buffered.
/// </summary>
public sealed class StandaloneTelemetry : IDisposable
{
    private readonly TracerProvider _tracing;
    private readonly MeterProvider _metrics;

    private StandaloneTelemetry(TracerProvider tracing, MeterProvider metrics)
    {
        _tracing = tracing;
        _metrics = metrics;
    }

    /// <summary>
    /// Starts exporting for a process of <paramref name="role"/> when an OTLP endpoint is configured
    /// (in <paramref name="configuration"/>, default: the environment); null otherwise (nothing listens).
    /// </summary>
    public static StandaloneTelemetry? StartIfConfigured(string role, string instanceId, IConfiguration? configuration = null)
    {
        configuration ??= new ConfigurationBuilder().AddEnvironmentVariables().Build();
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

    public void Dispose()
    {
        _tracing.Dispose();
        _metrics.Dispose();
    }
}
