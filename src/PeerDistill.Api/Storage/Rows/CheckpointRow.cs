namespace PeerDistill.Api.Storage;

/// <summary>A checkpoint a peer of a run wrote.</summary>
internal sealed record CheckpointRow(string Peer, long Step, string Path, long SizeBytes, DateTimeOffset Time);
