namespace PeerDistill.Api.Storage;

/// <summary>An event of a run as stored.</summary>
/// <param name="Id">1, 2, 3, ... within the run, in the order appended (usable as a server-sent event's id).</param>
/// <param name="Kind">What happened (the cluster's event kinds).</param>
/// <param name="Message">For people.</param>
/// <param name="Time">When.</param>
/// <param name="Peer">The peer it concerns, if one.</param>
/// <param name="Step">The step it happened at, if known.</param>
internal sealed record EventRow(long Id, string Kind, string Message, DateTimeOffset Time, string? Peer, long? Step);
