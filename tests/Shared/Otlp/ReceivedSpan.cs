using System.Diagnostics;

namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>
/// One span as <see cref="OtlpReceiver"/> received it, with the resource and the instrumentation scope
/// it came with. Ids are lower-case hex, as <c>ActivityTraceId.ToHexString()</c> and
/// <c>ActivitySpanId.ToHexString()</c> write them. Attribute values keep their OTLP type: string,
/// bool, long (every integer), double, byte[], <c>IReadOnlyList&lt;object?&gt;</c> (arrays: a tag of
/// type string[] arrives as one) or <c>IReadOnlyDictionary&lt;string, object?&gt;</c> (key/value lists).
/// </summary>
public sealed record ReceivedSpan
{
    /// <summary>The trace id: 32 lower-case hex digits.</summary>
    public required string TraceId { get; init; }

    /// <summary>The span id: 16 lower-case hex digits.</summary>
    public required string SpanId { get; init; }

    /// <summary>The parent's span id (16 lower-case hex digits), or null for a root span. The parent may be in another process.</summary>
    public required string? ParentSpanId { get; init; }

    /// <summary>The span's name (<c>Activity.DisplayName</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The span's kind; OTLP's SPAN_KIND_UNSPECIFIED reads as <see cref="ActivityKind.Internal"/>, as the specification allows.</summary>
    public required ActivityKind Kind { get; init; }

    /// <summary>When the span started (100 ns resolution: the wire's nanoseconds truncated).</summary>
    public required DateTimeOffset Start { get; init; }

    /// <summary>When the span ended.</summary>
    public required DateTimeOffset End { get; init; }

    /// <summary>The span's duration, <see cref="End"/> - <see cref="Start"/>.</summary>
    public TimeSpan Duration => End - Start;

    /// <summary>The span's attributes (tags).</summary>
    public required IReadOnlyDictionary<string, object?> Attributes { get; init; }

    /// <summary>The span's events, in the order sent.</summary>
    public required IReadOnlyList<ReceivedSpanEvent> Events { get; init; }

    /// <summary>The span's links, in the order sent.</summary>
    public required IReadOnlyList<ReceivedSpanLink> Links { get; init; }

    /// <summary>The span's status (OTLP's codes are <see cref="ActivityStatusCode"/>'s values).</summary>
    public required ActivityStatusCode Status { get; init; }

    /// <summary>The status message (<c>Activity.StatusDescription</c>); empty when none.</summary>
    public required string StatusMessage { get; init; }

    /// <summary>The W3C trace state; empty when none.</summary>
    public required string TraceState { get; init; }

    /// <summary>The name of the instrumentation scope (the ActivitySource) that made the span.</summary>
    public required string ScopeName { get; init; }

    /// <summary>The instrumentation scope's version; empty when none.</summary>
    public required string ScopeVersion { get; init; }

    /// <summary>The attributes of the resource the span came with (service.name, service.instance.id, telemetry.sdk.*, ...).</summary>
    public required IReadOnlyDictionary<string, object?> Resource { get; init; }

    /// <summary>The transport that brought the span.</summary>
    public required OtlpProtocol Protocol { get; init; }

    /// <summary>The resource's <c>service.name</c>, or null when it has none.</summary>
    public string? ServiceName => Resource.GetValueOrDefault(OtlpReceiver.ServiceNameAttribute) as string;

    /// <summary>The resource's <c>service.instance.id</c>, or null when it has none.</summary>
    public string? ServiceInstanceId => Resource.GetValueOrDefault(OtlpReceiver.ServiceInstanceIdAttribute) as string;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Kind}, {ServiceName}, trace {TraceId}, span {SpanId}, parent {ParentSpanId ?? "none"}, {Links.Count} links)";
}
