using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Grains;

/// <summary>The placement director's ledger: the slot board grain.</summary>
internal sealed class SlotBoardLedger(IGrainFactory grains) : ISlotLedger
{
    public Task<SlotReservation?> ReserveAsync(string peer, string device, string? avoidWorker, IReadOnlyList<SiloOffer> offers) =>
        grains.GetGrain<ISlotBoardGrain>(ISlotBoardGrain.Key).ReserveAsync(peer, device, avoidWorker, offers);
}
