namespace PeerDistill.Api.Model;

/// <summary>One thing that happened to a run.</summary>
/// <param name="At">When (the clock of the silo hosting the run's cohort grain).</param>
/// <param name="Peer">The peer it concerns; empty for the whole run.</param>
/// <param name="Kind">What happened (<c>placed</c>, <c>reactivated</c>, <c>completed</c>, ...).</param>
/// <param name="Message">Human-readable detail.</param>
public sealed record RunEvent(DateTimeOffset At, string Peer, string Kind, string Message);
