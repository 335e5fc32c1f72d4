namespace PeerDistill.Cluster.Placement;

/// <summary>
/// Chooses a slot for a peer: a free slot whose device is the one the peer asks for (never a slot
/// another peer holds), on the silo with the most such free slots (ties: fewest peers of the same
/// run there, then the silo name), its lowest such slot. A silo to avoid is used only when there
/// is no other.
/// </summary>
public static class SlotChooser
{
    /// <summary>The chosen (silo, slot), or null when no offered silo has a free slot of that device.</summary>
    /// <param name="peer">The peer's key, <c>cohort/run/peer</c>.</param>
    /// <param name="device">The device it asks for.</param>
    /// <param name="avoidWorker">Name of a silo to use only as a last resort; null for none.</param>
    /// <param name="offers">The silos that may host it, with their slots.</param>
    /// <param name="held">Slots held already: by peer key.</param>
    public static SlotReservation? Choose(string peer, string device, string? avoidWorker, IReadOnlyList<SiloOffer> offers, IReadOnlyCollection<SlotReservation> held)
    {
        ArgumentNullException.ThrowIfNull(offers);
        ArgumentNullException.ThrowIfNull(held);
        var run = RunOf(peer);
        var busy = held.Select(h => (h.Silo, h.Slot.Index)).ToHashSet();
        SlotReservation? best = null;
        (bool Avoided, int Free, int Same) bestRank = default;
        foreach (var offer in offers)
        {
            var free = offer.Slots.Where(s => Matches(s.Device, device) && !busy.Contains((offer.Silo, s.Index))).OrderBy(s => s.Index).ToList();
            if (free.Count == 0)
            {
                continue;
            }

            var rank = (Avoided: offer.WorkerId == avoidWorker, Free: free.Count, Same: held.Count(h => h.Silo == offer.Silo && RunOf(h.Peer) == run));
            var better = best is null
                || (!rank.Avoided && bestRank.Avoided)
                || (rank.Avoided == bestRank.Avoided && rank.Free > bestRank.Free)
                || (rank.Avoided == bestRank.Avoided && rank.Free == bestRank.Free && rank.Same < bestRank.Same)
                || (rank.Avoided == bestRank.Avoided && rank.Free == bestRank.Free && rank.Same == bestRank.Same && string.CompareOrdinal(offer.WorkerId, best.WorkerId) < 0);
            if (better)
            {
                best = new SlotReservation(peer, offer.Silo, offer.WorkerId, free[0]);
                bestRank = rank;
            }
        }

        return best;
    }

    /// <summary>Whether a slot of <paramref name="slotDevice"/> serves a peer asking for <paramref name="wanted"/>: the same device (<c>cpu</c>, or the same <c>cuda:N</c>).</summary>
    public static bool Matches(string slotDevice, string wanted) => string.Equals(Normalize(slotDevice), Normalize(wanted), StringComparison.Ordinal);

    private static string Normalize(string device) => device.Trim().ToLowerInvariant() switch
    {
        "cuda" => "cuda:0",
        var d => d,
    };

    private static string RunOf(string peer)
    {
        var cut = peer.LastIndexOf('/');
        return cut < 0 ? peer : peer[..cut];
    }
}
