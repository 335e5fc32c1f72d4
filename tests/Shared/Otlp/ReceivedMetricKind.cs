namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>The OTLP data type of a <see cref="ReceivedMetric"/> (which of Metric.data was set).</summary>
public enum ReceivedMetricKind
{
    /// <summary>A gauge (ObservableGauge, Gauge): the current value of each point.</summary>
    Gauge,

    /// <summary>A sum (Counter, UpDownCounter and their observable forms); see <see cref="ReceivedMetric.IsMonotonic"/> and <see cref="ReceivedMetric.Temporality"/>.</summary>
    Sum,

    /// <summary>An explicit-bucket histogram (Histogram, the SDK's default aggregation).</summary>
    Histogram,

    /// <summary>A base-2 exponential histogram (when a view asks for one).</summary>
    ExponentialHistogram,

    /// <summary>A summary (not produced by the .NET SDK; other SDKs' legacy type).</summary>
    Summary,
}
