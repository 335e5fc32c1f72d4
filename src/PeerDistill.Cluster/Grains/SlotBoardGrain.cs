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

    public Task<SlotReservation?> ReserveAsync(string peer, string device, string? avoidWorker, IReadOnlyList<SiloOffer> offers)
    {
        Prune();
        if (_held.TryGetValue(peer, out var current))
        {
            if (offers.Any(o => o.Silo == current.Reservation.Silo))
            {
                return Task.FromResult<SlotReservation?>(current.Reservation);
            }

            _held.Remove(peer);
        }

        var chosen = SlotChooser.Choose(peer, device, avoidWorker, offers, _held.Values.Select(h => h.Reservation).ToList());
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

    public Task<IReadOnlyList<SlotReservation>> HeldAsync()
    {
        Prune();
        return Task.FromResult<IReadOnlyList<SlotReservation>>(_held.Values.Select(h => h.Reservation).ToList());
    }

    /// <summary>Drops the slots of silos that are no longer active, and reservations no activation confirmed in time.</summary>
    private void Prune()
    {
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

    private sealed record Held(SlotReservation Reservation, DateTimeOffset Since, bool Confirmed);
}
