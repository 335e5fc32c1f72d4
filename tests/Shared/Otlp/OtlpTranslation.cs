using System.Diagnostics;
using PeerDistill.Tests.Shared.Otlp.Proto.Collector.Metrics;
using PeerDistill.Tests.Shared.Otlp.Proto.Collector.Trace;
using PeerDistill.Tests.Shared.Otlp.Proto.Metrics;
using PeerDistill.Tests.Shared.Otlp.Proto.Trace;

namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>OTLP export requests (the wire) translated into the receiver's records, with their resource and scope.</summary>
internal static class OtlpTranslation
{
    /// <summary>Every span of a trace export.</summary>
    public static IReadOnlyList<ReceivedSpan> Spans(ExportTraceServiceRequest request, OtlpProtocol protocol) =>
    [
        .. from resourceSpans in request.ResourceSpans
           let resource = OtlpValues.Attributes(resourceSpans.Resource?.Attributes ?? [])
           from scopeSpans in resourceSpans.ScopeSpans
           from span in scopeSpans.Spans
           select ToSpan(span, scopeSpans.Scope?.Name ?? string.Empty, scopeSpans.Scope?.Version ?? string.Empty, resource, protocol),
    ];

    /// <summary>Every metric of a metrics export.</summary>
    public static IReadOnlyList<ReceivedMetric> Metrics(ExportMetricsServiceRequest request, OtlpProtocol protocol, DateTimeOffset receivedAt) =>
    [
        .. from resourceMetrics in request.ResourceMetrics
           let resource = OtlpValues.Attributes(resourceMetrics.Resource?.Attributes ?? [])
           from scopeMetrics in resourceMetrics.ScopeMetrics
           from metric in scopeMetrics.Metrics
           select ToMetric(metric, scopeMetrics.Scope?.Name ?? string.Empty, scopeMetrics.Scope?.Version ?? string.Empty, resource, protocol, receivedAt),
    ];

    private static ReceivedSpan ToSpan(Span span, string scope, string scopeVersion, IReadOnlyDictionary<string, object?> resource, OtlpProtocol protocol) => new()
    {
        TraceId = OtlpValues.Hex(span.TraceId),
        SpanId = OtlpValues.Hex(span.SpanId),
        ParentSpanId = span.ParentSpanId.IsEmpty ? null : OtlpValues.Hex(span.ParentSpanId),
        Name = span.Name,
        Kind = span.Kind switch
        {
            Span.Types.SpanKind.Server => ActivityKind.Server,
            Span.Types.SpanKind.Client => ActivityKind.Client,
            Span.Types.SpanKind.Producer => ActivityKind.Producer,
            Span.Types.SpanKind.Consumer => ActivityKind.Consumer,
            _ => ActivityKind.Internal,
        },
        Start = OtlpValues.Time(span.StartTimeUnixNano),
        End = OtlpValues.Time(span.EndTimeUnixNano),
        Attributes = OtlpValues.Attributes(span.Attributes),
        Events = [.. span.Events.Select(e => new ReceivedSpanEvent(e.Name, OtlpValues.Time(e.TimeUnixNano), OtlpValues.Attributes(e.Attributes)))],
        Links = [.. span.Links.Select(l => new ReceivedSpanLink(OtlpValues.Hex(l.TraceId), OtlpValues.Hex(l.SpanId), OtlpValues.Attributes(l.Attributes)))],
        Status = span.Status?.Code switch
        {
            Status.Types.StatusCode.Ok => ActivityStatusCode.Ok,
            Status.Types.StatusCode.Error => ActivityStatusCode.Error,
            _ => ActivityStatusCode.Unset,
        },
        StatusMessage = span.Status?.Message ?? string.Empty,
        TraceState = span.TraceState,
        ScopeName = scope,
        ScopeVersion = scopeVersion,
        Resource = resource,
        Protocol = protocol,
    };

    private static ReceivedMetric ToMetric(Metric metric, string scope, string scopeVersion, IReadOnlyDictionary<string, object?> resource, OtlpProtocol protocol, DateTimeOffset receivedAt)
    {
        var (kind, temporality, monotonic, points) = metric.DataCase switch
        {
            Metric.DataOneofCase.Gauge => (ReceivedMetricKind.Gauge, AggregationTemporality.Unspecified, false, metric.Gauge.DataPoints.Select(Number).ToArray()),
            Metric.DataOneofCase.Sum => (ReceivedMetricKind.Sum, metric.Sum.AggregationTemporality, metric.Sum.IsMonotonic, metric.Sum.DataPoints.Select(Number).ToArray()),
            Metric.DataOneofCase.Histogram => (ReceivedMetricKind.Histogram, metric.Histogram.AggregationTemporality, false, metric.Histogram.DataPoints.Select(Histogram).ToArray()),
            Metric.DataOneofCase.ExponentialHistogram => (ReceivedMetricKind.ExponentialHistogram, metric.ExponentialHistogram.AggregationTemporality, false, metric.ExponentialHistogram.DataPoints.Select(Exponential).ToArray()),
            Metric.DataOneofCase.Summary => (ReceivedMetricKind.Summary, AggregationTemporality.Unspecified, false, metric.Summary.DataPoints.Select(Summary).ToArray()),
            _ => throw new InvalidDataException($"metric '{metric.Name}' has no data (none of gauge, sum, histogram, exponential_histogram, summary is set)"),
        };

        return new ReceivedMetric
        {
            Name = metric.Name,
            Description = metric.Description,
            Unit = metric.Unit,
            Kind = kind,
            Temporality = temporality switch
            {
                AggregationTemporality.Delta => ReceivedMetricTemporality.Delta,
                AggregationTemporality.Cumulative => ReceivedMetricTemporality.Cumulative,
                _ => ReceivedMetricTemporality.Unspecified,
            },
            IsMonotonic = monotonic,
            Points = points,
            ScopeName = scope,
            ScopeVersion = scopeVersion,
            Resource = resource,
            Protocol = protocol,
            ReceivedAt = receivedAt,
        };
    }

    private static ReceivedMetricPoint Number(NumberDataPoint point) => new()
    {
        Attributes = OtlpValues.Attributes(point.Attributes),
        Start = Start(point.StartTimeUnixNano),
        Time = OtlpValues.Time(point.TimeUnixNano),
        Value = point.ValueCase switch
        {
            NumberDataPoint.ValueOneofCase.AsInt => point.AsInt,
            NumberDataPoint.ValueOneofCase.AsDouble => point.AsDouble,
            _ => null,
        },
        IsInteger = point.ValueCase == NumberDataPoint.ValueOneofCase.AsInt,
        Count = null,
        Sum = null,
        Min = null,
        Max = null,
        ExplicitBounds = [],
        BucketCounts = [],
    };

    private static ReceivedMetricPoint Histogram(HistogramDataPoint point) => new()
    {
        Attributes = OtlpValues.Attributes(point.Attributes),
        Start = Start(point.StartTimeUnixNano),
        Time = OtlpValues.Time(point.TimeUnixNano),
        Value = null,
        IsInteger = false,
        Count = point.Count,
        Sum = point.HasSum ? point.Sum : null,
        Min = point.HasMin ? point.Min : null,
        Max = point.HasMax ? point.Max : null,
        ExplicitBounds = [.. point.ExplicitBounds],
        BucketCounts = [.. point.BucketCounts],
    };

    private static ReceivedMetricPoint Exponential(ExponentialHistogramDataPoint point) => new()
    {
        Attributes = OtlpValues.Attributes(point.Attributes),
        Start = Start(point.StartTimeUnixNano),
        Time = OtlpValues.Time(point.TimeUnixNano),
        Value = null,
        IsInteger = false,
        Count = point.Count,
        Sum = point.HasSum ? point.Sum : null,
        Min = point.HasMin ? point.Min : null,
        Max = point.HasMax ? point.Max : null,
        ExplicitBounds = [],
        BucketCounts = [],
    };

    private static ReceivedMetricPoint Summary(SummaryDataPoint point) => new()
    {
        Attributes = OtlpValues.Attributes(point.Attributes),
        Start = Start(point.StartTimeUnixNano),
        Time = OtlpValues.Time(point.TimeUnixNano),
        Value = null,
        IsInteger = false,
        Count = point.Count,
        Sum = point.Sum,
        Min = null,
        Max = null,
        ExplicitBounds = [],
        BucketCounts = [],
    };

    private static DateTimeOffset? Start(ulong unixNanoseconds) => unixNanoseconds == 0 ? null : OtlpValues.Time(unixNanoseconds);
}
