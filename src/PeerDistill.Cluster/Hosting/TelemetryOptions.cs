using PeerDistill.Core.Telemetry;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// What a coordinator or worker reports through OpenTelemetry besides the OTLP export, which the
/// standard <c>OTEL_*</c> variables configure (on when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, or a
/// signal's own endpoint variable, is set). Bound under the role's section (<c>Worker:Telemetry</c>,
/// <c>Coordinator:Telemetry</c>). With neither a metrics port nor an OTLP endpoint nothing listens to
/// PeerDistill's sources and meters, and nothing is measured.
/// </summary>
public sealed class TelemetryOptions
{
    /// <summary>The sub-section of the role's section the options are bound from.</summary>
    public const string Section = "Telemetry";

    /// <summary>
    /// Port of a Prometheus scrape endpoint (<c>GET /metrics</c>, cleartext HTTP/1.1, on the process's
    /// listen address, nothing else served there); null (the default): none; 0: a free port (printed).
    /// </summary>
    public int? MetricsPort { get; set; }

    /// <summary>Trace every Nth training step of every peer (a spec's <c>tracing.every_steps</c> overrides it); 0: none. Default <see cref="TraceSampling.DefaultEverySteps"/>.</summary>
    public long TraceEverySteps { get; set; } = TraceSampling.DefaultEverySteps;

    /// <summary>Also trace every step slower than this many milliseconds (a spec's <c>tracing.slower_than_ms</c> overrides it); 0: none. Default <see cref="TraceSampling.DefaultSlowerThanMs"/>.</summary>
    public double TraceSlowerThanMs { get; set; } = TraceSampling.DefaultSlowerThanMs;

    /// <summary>The sampling of training steps these options give.</summary>
    public TraceSampling Sampling => new(TraceEverySteps, TraceSlowerThanMs);

    /// <summary>What is wrong with these options, by key under <see cref="Section"/>.</summary>
    public IEnumerable<(string Key, string Message)> Problems()
    {
        if (MetricsPort is < 0 or > 65535)
        {
            yield return ($"{Section}:{nameof(MetricsPort)}", $"must be 0 to 65535 (0: a free port), got {MetricsPort}");
        }

        if (TraceEverySteps < 0)
        {
            yield return ($"{Section}:{nameof(TraceEverySteps)}", $"must be 0 (none) or more, got {TraceEverySteps}");
        }

        if (!(TraceSlowerThanMs >= 0) || double.IsInfinity(TraceSlowerThanMs))
        {
            yield return ($"{Section}:{nameof(TraceSlowerThanMs)}", $"must be a finite number of milliseconds, 0 (none) or more, got {TraceSlowerThanMs}");
        }
    }
}
