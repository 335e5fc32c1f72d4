using System.Diagnostics;
using System.Diagnostics.Metrics;
using PeerDistill.Core.Telemetry;

namespace PeerDistill.Api;

/// <summary>
/// The API's ActivitySource and Meter (<see cref="TelemetryNames.Api"/>): a span per submitted spec
/// (validation and the cohort's start), and the metrics rows the writer dropped. Requests themselves are
/// measured and traced by ASP.NET Core's own instrumentation.
/// </summary>
public static class ApiTelemetry
{
    public static readonly ActivitySource Source = new(TelemetryNames.Api, TelemetryNames.Version);

    public static readonly Meter Meter = new(TelemetryNames.Api, TelemetryNames.Version);

    /// <summary>Metrics rows the coordinator's writer dropped (a full buffer, a database that failed every attempt).</summary>
    public static readonly Counter<long> MetricsDropped = Meter.CreateCounter<long>(
        "peerdistill.metrics_writer.dropped", "{row}", "Metrics rows the coordinator's writer dropped (buffer full, or the database failed every attempt)");
}
