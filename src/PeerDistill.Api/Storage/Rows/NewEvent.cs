namespace PeerDistill.Api.Storage;

/// <summary>An event to append to a run (its id is given by the store).</summary>
internal sealed record NewEvent(string Kind, string Message, DateTimeOffset Time, string? Peer = null, long? Step = null);
