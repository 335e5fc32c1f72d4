namespace PeerDistill.Api.Rest;

/// <summary>One slot of a worker.</summary>
/// <param name="Index">The slot's index on its worker.</param>
/// <param name="Device">Its device (<c>cpu</c>, <c>cuda:N</c>).</param>
/// <param name="Peer">The peer holding it (<c>cohort/run/peer</c>); null when free.</param>
/// <param name="Started">Whether that peer has started there (else the slot is reserved for it).</param>
public sealed record WorkerSlotResource(int Index, string Device, string? Peer, bool Started);
