namespace PeerDistill.Api.Rest;

/// <summary>One worker of the cluster.</summary>
/// <param name="Worker">Its id (the silo's name in statuses and events).</param>
/// <param name="Silo">Its Orleans silo (<c>host:port@generation</c>): the process.</param>
/// <param name="TakesPeers">Whether new peers are placed on it (false while it stops).</param>
/// <param name="Slots">Its slots, in index order.</param>
public sealed record WorkerResource(string Worker, string Silo, bool TakesPeers, IReadOnlyList<WorkerSlotResource> Slots);
