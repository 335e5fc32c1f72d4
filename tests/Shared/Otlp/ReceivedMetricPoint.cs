namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>
/// One data point of a <see cref="ReceivedMetric"/>: the values of one combination of attributes
/// (one time series) at one export. Which values are set depends on the metric's kind: a gauge or a
/// sum has <see cref="Value"/>; a histogram (explicit or exponential) and a summary have
/// <see cref="Count"/> and <see cref="Sum"/> (a histogram also <see cref="Min"/> and <see cref="Max"/>
/// where the SDK records them, and an explicit one its buckets).
/// </summary>
public sealed record ReceivedMetricPoint
{
    /// <summary>The point's attributes (the measurement's tags), typed as in <see cref="ReceivedSpan.Attributes"/>.</summary>
    public required IReadOnlyDictionary<string, object?> Attributes { get; init; }

    /// <summary>The start of the interval the point covers, or null when not given (gauges).</summary>
    public required DateTimeOffset? Start { get; init; }

    /// <summary>When the point's value was taken (the end of its interval).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>A gauge's or a sum's value (an integer point's value converted); null for the other kinds.</summary>
    public required double? Value { get; init; }

    /// <summary>True when <see cref="Value"/> came as an integer (a long instrument), false when as a double.</summary>
    public required bool IsInteger { get; init; }

    /// <summary>A histogram's or a summary's number of measurements; null for gauges and sums.</summary>
    public required ulong? Count { get; init; }

    /// <summary>A histogram's or a summary's sum of measurements, where sent; null for gauges and sums.</summary>
    public required double? Sum { get; init; }

    /// <summary>A histogram's smallest measurement, where sent.</summary>
    public required double? Min { get; init; }

    /// <summary>A histogram's largest measurement, where sent.</summary>
    public required double? Max { get; init; }

    /// <summary>An explicit-bucket histogram's upper bounds (empty for the other kinds).</summary>
    public required IReadOnlyList<double> ExplicitBounds { get; init; }

    /// <summary>An explicit-bucket histogram's counts per bucket: one more than <see cref="ExplicitBounds"/> (empty for the other kinds).</summary>
    public required IReadOnlyList<ulong> BucketCounts { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{{{string.Join(", ", Attributes.Select(a => $"{a.Key}={a.Value}"))}}} {(Value is { } v ? $"value {v}" : $"count {Count}, sum {Sum}")}";
}
