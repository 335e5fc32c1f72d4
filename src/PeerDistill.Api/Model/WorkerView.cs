namespace PeerDistill.Api.Model;

/// <summary>One worker of the cluster, as the API returns it.</summary>
/// <param name="Worker">Its id (the silo's name in statuses and events).</param>
/// <param name="Silo">Its Orleans silo (<c>host:port@generation</c>): the process.</param>
/// <param name="TakesPeers">Whether new peers are placed on it (false while it stops).</param>
/// <param name="Slots">Its slots, with the peer in each.</param>
public sealed record WorkerView(string Worker, string Silo, bool TakesPeers, IReadOnlyList<WorkerSlotView> Slots);
