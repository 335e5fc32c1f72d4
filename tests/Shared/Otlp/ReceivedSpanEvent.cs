namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>An event of a <see cref="ReceivedSpan"/> (<c>Activity.AddEvent</c>; exceptions are events named <c>exception</c>).</summary>
/// <param name="Name">The event's name.</param>
/// <param name="Time">When it happened (100 ns resolution: the wire's nanoseconds truncated).</param>
/// <param name="Attributes">The event's attributes (values typed as in <see cref="ReceivedSpan.Attributes"/>).</param>
public sealed record ReceivedSpanEvent(string Name, DateTimeOffset Time, IReadOnlyDictionary<string, object?> Attributes);
