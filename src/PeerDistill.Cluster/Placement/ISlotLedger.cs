namespace PeerDistill.Cluster.Placement;

/// <summary>The cluster-wide record of which slot holds which peer (the slot board grain; a plain one in tests).</summary>
public interface ISlotLedger
{
    /// <summary>Holds a free slot of <paramref name="device"/> on one of <paramref name="offers"/> for <paramref name="peer"/> (the one it holds already, if any is still offered); null when none is free.</summary>
    Task<SlotReservation?> ReserveAsync(string peer, string device, string? avoidWorker, IReadOnlyList<SiloOffer> offers);
}
