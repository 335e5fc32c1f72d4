namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>
/// One metric (one instrument) of one export, as <see cref="OtlpReceiver"/> received it, with its
/// points and the resource and scope it came with. An SDK exports every instrument again at every
/// interval, so the same metric arrives many times: with cumulative temporality (the .NET default)
/// the newest one holds the running totals; with delta each holds what happened since the previous.
/// </summary>
public sealed record ReceivedMetric
{
    /// <summary>The instrument's name.</summary>
    public required string Name { get; init; }

    /// <summary>The instrument's description; empty when none.</summary>
    public required string Description { get; init; }

    /// <summary>The instrument's unit (e.g. <c>ms</c>, <c>By</c>, <c>{step}</c>); empty when none.</summary>
    public required string Unit { get; init; }

    /// <summary>Which OTLP data type the metric came as.</summary>
    public required ReceivedMetricKind Kind { get; init; }

    /// <summary>The temporality of a sum or a histogram; <see cref="ReceivedMetricTemporality.Unspecified"/> for gauges and summaries.</summary>
    public required ReceivedMetricTemporality Temporality { get; init; }

    /// <summary>True for a monotonic sum (a Counter); false for every other metric.</summary>
    public required bool IsMonotonic { get; init; }

    /// <summary>The points, one per combination of attributes, in the order sent.</summary>
    public required IReadOnlyList<ReceivedMetricPoint> Points { get; init; }

    /// <summary>The name of the instrumentation scope (the Meter) the metric belongs to.</summary>
    public required string ScopeName { get; init; }

    /// <summary>The instrumentation scope's version; empty when none.</summary>
    public required string ScopeVersion { get; init; }

    /// <summary>The attributes of the resource the metric came with (service.name, service.instance.id, ...).</summary>
    public required IReadOnlyDictionary<string, object?> Resource { get; init; }

    /// <summary>The transport that brought the metric.</summary>
    public required OtlpProtocol Protocol { get; init; }

    /// <summary>When the receiver took it (its clock; for ordering exports, not for the data's times).</summary>
    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>The resource's <c>service.name</c>, or null when it has none.</summary>
    public string? ServiceName => Resource.GetValueOrDefault(OtlpReceiver.ServiceNameAttribute) as string;

    /// <summary>The resource's <c>service.instance.id</c>, or null when it has none.</summary>
    public string? ServiceInstanceId => Resource.GetValueOrDefault(OtlpReceiver.ServiceInstanceIdAttribute) as string;

    /// <summary>
    /// The first point whose attributes include every pair of <paramref name="attributes"/> (all of
    /// them: a point may have more), or null when none has. With no pairs, the first point. Integers
    /// compare by value whatever their type (an <c>int</c> matches the <c>long</c> received).
    /// </summary>
    public ReceivedMetricPoint? Point(params (string Key, object? Value)[] attributes) =>
        Points.FirstOrDefault(p => OtlpValues.Contains(p.Attributes, attributes));

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Kind}, {ServiceName}, {Points.Count} points: {string.Join("; ", Points)})";
}
