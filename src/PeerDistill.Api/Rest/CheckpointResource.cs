namespace PeerDistill.Api.Rest;

/// <summary>One checkpoint of a run's peer.</summary>
/// <param name="Peer">The peer.</param>
/// <param name="Step">The steps it holds (a peer resumed from it goes on at this step).</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Written">When it was written.</param>
/// <param name="Download">Where to download it (this API).</param>
public sealed record CheckpointResource(string Peer, long Step, long Bytes, DateTimeOffset Written, string Download);
