namespace PeerDistill.Api.Rest;

/// <summary>One thing that happened to a run.</summary>
/// <param name="At">When (RFC 3339, UTC).</param>
/// <param name="Peer">The peer it concerns; empty for the whole run.</param>
/// <param name="Kind">What happened (<c>placed</c>, <c>reactivated</c>, <c>completed</c>, ...).</param>
/// <param name="Message">Human-readable detail.</param>
public sealed record EventResource(DateTimeOffset At, string Peer, string Kind, string Message);
