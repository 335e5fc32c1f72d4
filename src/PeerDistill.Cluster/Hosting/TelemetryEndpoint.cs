namespace PeerDistill.Cluster.Hosting;

/// <summary>What a process exports: OTLP (the <c>OTEL_*</c> variables name an endpoint) and a Prometheus scrape endpoint (its port, chosen).</summary>
/// <param name="Otlp">Whether traces and metrics go to an OTLP endpoint.</param>
/// <param name="MetricsPort">The port of the scrape endpoint; null: none.</param>
public sealed record TelemetryEndpoint(bool Otlp, int? MetricsPort)
{
    /// <summary>Whether anything is exported.</summary>
    public bool Any => Otlp || MetricsPort is not null;
}
