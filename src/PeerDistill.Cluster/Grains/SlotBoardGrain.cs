using Microsoft.Extensions.Logging;
using Orleans.Runtime.MembershipService.SiloMetadata;
using PeerDistill.Cluster.Placement;

namespace PeerDistill.Cluster.Grains;

/// <summary>The slot board: an in-memory table on the coordinator silo (the primary silo: when it is gone, so is the cluster).</summary>
[CoordinatorPlacement, KeepAlive]
internal sealed partial class SlotBoardGrain(IClusterMembershipService membership, ISiloMetadataCache metadata, TimeProvider time, ILogger<SlotBoardGrain> logger) : Grain, ISlotBoardGrain
{
    /// <summary>How long a reservation may wait for its peer grain to activate before its slot is free again.</summary>
    public static readonly TimeSpan UnconfirmedLapse = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, Held> _held = new(StringComparer.Ordinal);
    private readonly WorkerRoster _roster = new();

    public Task<SlotReservation?> ReserveAsync(string peer, string device, string? avoidWorker, IReadOnlyList<SiloOffer> offers)
    {
        Prune();
        if (_held.TryGetValue(peer, out var current))
        {
            if (offers.Where(_roster.Offers).Any(o => o.Silo == current.Reservation.Silo))
            {
                return Task.FromResult<SlotReservation?>(current.Reservation);
            }

            _held.Remove(peer);
        }

        var chosen = SlotChooser.Choose(peer, device, avoidWorker, offers.Where(_roster.Offers).ToList(), _held.Values.Select(h => h.Reservation).ToList());
        if (chosen is not null)
        {
            _held[peer] = new Held(chosen, time.GetUtcNow(), Confirmed: false);
            LogReserved(logger, peer, chosen.WorkerId, chosen.Slot.Index, chosen.Slot.Device);
        }

        return Task.FromResult(chosen);
    }

    public Task<bool> HasFreeSlotAsync(string device)
    {
        Prune();
        var offers = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => SiloRoles.OfferOf(m.SiloAddress, m.Name, metadata.GetSiloMetadata(m.SiloAddress)?.Metadata))
            .OfType<SiloOffer>()
            .Where(_roster.Offers)
            .ToList();
        return Task.FromResult(SlotChooser.Choose(string.Empty, device, null, offers, _held.Values.Select(h => h.Reservation).ToList()) is not null);
    }

    public Task<SlotReservation?> FindAsync(string peer)
    {
        Prune();
        return Task.FromResult(_held.TryGetValue(peer, out var held) ? held.Reservation : null);
    }

    public Task ConfirmAsync(string peer, string silo)
    {
        if (_held.TryGetValue(peer, out var held) && held.Reservation.Silo == silo)
        {
            _held[peer] = held with { Confirmed = true };
        }

        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string peer, string silo)
    {
        if (_held.TryGetValue(peer, out var held) && held.Reservation.Silo == silo)
        {
            _held.Remove(peer);
            LogReleased(logger, peer, held.Reservation.WorkerId, held.Reservation.Slot.Index);
        }

        return Task.CompletedTask;
    }

    public Task<WorkerAdmission> JoinAsync(string worker, string silo, IReadOnlyList<SlotHolder>? holding = null)
    {
        var admission = _roster.Join(worker, silo, IsMember);
        if (admission.Admitted)
        {
            LogJoined(logger, worker, silo);

            // A worker that joins a new board (its coordinator was restarted while its peers trained on)
            // says which of its slots are taken, so that no other peer is placed in them.
            var slots = membership.CurrentSnapshot.Members.Values
                .Where(m => m.SiloAddress.ToParsableString() == silo)
                .Select(m => SiloRoles.OfferOf(m.SiloAddress, m.Name, metadata.GetSiloMetadata(m.SiloAddress)?.Metadata))
                .OfType<SiloOffer>()
                .SelectMany(o => o.Slots)
                .ToDictionary(s => s.Index);
            foreach (var holder in holding ?? [])
            {
                if (slots.TryGetValue(holder.Slot, out var slot))
                {
                    _held[holder.Peer] = new Held(new SlotReservation(holder.Peer, silo, worker, slot), time.GetUtcNow(), Confirmed: holder.Started);
                    LogReserved(logger, holder.Peer, worker, slot.Index, slot.Device);
                }
            }
        }
        else
        {
            LogRefused(logger, worker, silo, admission.Holder!);
        }

        return Task.FromResult(admission);
    }

    public Task DrainAsync(string silo)
    {
        _roster.Drain(silo);
        LogDraining(logger, silo);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<WorkerEntry>> WorkersAsync()
    {
        Prune();
        var workers = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => (Member: m, Offer: SiloRoles.OfferOf(m.SiloAddress, m.Name, metadata.GetSiloMetadata(m.SiloAddress)?.Metadata)))
            .Where(w => w.Offer is not null)
            .Select(w => new WorkerEntry(
                w.Offer!.WorkerId,
                w.Offer.Silo,
                w.Offer.Slots,
                _roster.Offers(w.Offer),
                _held.Values.Where(h => h.Reservation.Silo == w.Offer.Silo).Select(h => new SlotHolder(h.Reservation.Slot.Index, h.Reservation.Peer, h.Confirmed)).OrderBy(h => h.Slot).ToList()))
            .OrderBy(w => w.Worker, StringComparer.Ordinal)
            .ToList();
        return Task.FromResult<IReadOnlyList<WorkerEntry>>(workers);
    }

    public Task<IReadOnlyList<SlotReservation>> HeldAsync()
    {
        Prune();
        return Task.FromResult<IReadOnlyList<SlotReservation>>(_held.Values.Select(h => h.Reservation).ToList());
    }

    /// <summary>Whether a silo is a member of the cluster now (joining or active; not shutting down, not dead).</summary>
    private bool IsMember(string silo) =>
        membership.CurrentSnapshot.GetSiloStatus(SiloAddress.FromParsableString(silo)) is SiloStatus.Active or SiloStatus.Joining or SiloStatus.Created;

    /// <summary>Drops the slots of silos that are no longer active, and reservations no activation confirmed in time.</summary>
    private void Prune()
    {
        _roster.Prune(IsMember);
        var snapshot = membership.CurrentSnapshot;
        var now = time.GetUtcNow();
        foreach (var (peer, held) in _held.ToList())
        {
            var status = snapshot.GetSiloStatus(SiloAddress.FromParsableString(held.Reservation.Silo));
            if (status != SiloStatus.Active || (!held.Confirmed && now - held.Since > UnconfirmedLapse))
            {
                _held.Remove(peer);
                LogReleased(logger, peer, held.Reservation.WorkerId, held.Reservation.Slot.Index);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "slot board: '{Peer}' holds slot {Slot} ({Device}) on worker '{Worker}'")]
    private static partial void LogReserved(ILogger logger, string peer, string worker, int slot, string device);

    [LoggerMessage(Level = LogLevel.Debug, Message = "slot board: '{Peer}' released slot {Slot} on worker '{Worker}'")]
    private static partial void LogReleased(ILogger logger, string peer, string worker, int slot);

    [LoggerMessage(Level = LogLevel.Information, Message = "worker '{Worker}' joined with silo {Silo}")]
    private static partial void LogJoined(ILogger logger, string worker, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "refused silo {Silo} as worker '{Worker}': silo {Holder}, a member of the cluster, holds that id")]
    private static partial void LogRefused(ILogger logger, string worker, string silo, string holder);

    [LoggerMessage(Level = LogLevel.Information, Message = "silo {Silo} drains: its worker stops, no new peer goes there")]
    private static partial void LogDraining(ILogger logger, string silo);

    private sealed record Held(SlotReservation Reservation, DateTimeOffset Since, bool Confirmed);
}
