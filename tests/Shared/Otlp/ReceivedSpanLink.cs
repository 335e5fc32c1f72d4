namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>A link of a <see cref="ReceivedSpan"/> to another span, possibly of another trace and process.</summary>
/// <param name="TraceId">The linked span's trace id: 32 lower-case hex digits, as <c>ActivityTraceId.ToHexString()</c>.</param>
/// <param name="SpanId">The linked span's id: 16 lower-case hex digits, as <c>ActivitySpanId.ToHexString()</c>.</param>
/// <param name="Attributes">The link's attributes (values typed as in <see cref="ReceivedSpan.Attributes"/>).</param>
public sealed record ReceivedSpanLink(string TraceId, string SpanId, IReadOnlyDictionary<string, object?> Attributes);
