using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Grains;

/// <summary>
/// The cluster's slot board (one, on the coordinator silo, key <see cref="Key"/>): which slot of
/// which silo holds which peer, and which worker silo holds which worker id. Capacity comes from the
/// silos' metadata, liveness from Orleans membership (a dead silo's slots are dropped); a worker silo
/// joins under its id before it is offered slots, and drains when its worker stops; the placement
/// director reserves, the peer grain confirms when it activates and releases when it ends.
/// </summary>
public interface ISlotBoardGrain : IGrainWithStringKey
{
    public const string Key = "slots";

    Task<SlotReservation?> ReserveAsync(string peer, string device, string? avoidWorker, IReadOnlyList<SiloOffer> offers);

    /// <summary>Whether some active worker silo has a free slot of <paramref name="device"/> now (a cheap check before placing).</summary>
    Task<bool> HasFreeSlotAsync(string device);

    /// <summary>The reservation of <paramref name="peer"/>, if it holds one on a live silo.</summary>
    Task<SlotReservation?> FindAsync(string peer);

    /// <summary>The peer's activation on <paramref name="silo"/> took its slot (an unconfirmed reservation lapses after a while).</summary>
    Task ConfirmAsync(string peer, string silo);

    /// <summary>Frees the peer's slot on <paramref name="silo"/> (nothing if it holds none there).</summary>
    Task ReleaseAsync(string peer, string silo);

    /// <summary>A worker silo takes its worker id (refused while another live silo holds it); only admitted silos get peers.</summary>
    Task<WorkerAdmission> JoinAsync(string worker, string silo, IReadOnlyList<SlotHolder>? holding = null);

    /// <summary>The worker of <paramref name="silo"/> stops: no new peer is placed on it.</summary>
    Task DrainAsync(string silo);

    /// <summary>Every slot held now.</summary>
    Task<IReadOnlyList<SlotReservation>> HeldAsync();

    /// <summary>Every worker silo of the cluster now: its id, address, slots, whether it takes peers, and the peers holding its slots.</summary>
    Task<IReadOnlyList<WorkerEntry>> WorkersAsync();
}
