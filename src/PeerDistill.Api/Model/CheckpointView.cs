namespace PeerDistill.Api.Model;

/// <summary>One checkpoint of a run's peer, on the storage every silo shares.</summary>
/// <param name="Peer">The peer.</param>
/// <param name="Step">The steps it holds (a peer resumed from it goes on at this step).</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Written">When it was written.</param>
/// <param name="Path">Where it is (as every silo sees it).</param>
public sealed record CheckpointView(string Peer, long Step, long Bytes, DateTimeOffset Written, string Path);
