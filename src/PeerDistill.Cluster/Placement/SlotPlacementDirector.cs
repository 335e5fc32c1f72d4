using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace PeerDistill.Cluster.Placement;

/// <summary>
/// Places a peer grain: among the silos compatible with it, the worker silos (by their metadata)
/// that offer slots; the ledger holds a free slot of the device the caller put in the request
/// context (<see cref="PlacementKeys.Device"/>, default <c>cpu</c>) and the grain goes to that
/// slot's silo. No free slot: <see cref="SlotUnavailableException"/> (the call fails; the cohort
/// tries again later). The peer grain reads its slot back from the ledger when it activates.
/// </summary>
public sealed class SlotPlacementDirector(ISiloMetadataCache metadata, IClusterMembershipService membership, ISlotLedger ledger) : IPlacementDirector
{
    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var device = target.RequestContextData?.GetValueOrDefault(PlacementKeys.Device) as string ?? "cpu";
        var avoid = target.RequestContextData?.GetValueOrDefault(PlacementKeys.AvoidWorker) as string;
        var members = membership.CurrentSnapshot.Members;
        var offers = new List<SiloOffer>();
        foreach (var silo in context.GetCompatibleSilos(target))
        {
            if (SiloRoles.OfferOf(silo, members.TryGetValue(silo, out var member) ? member.Name : silo.ToString(), metadata.GetSiloMetadata(silo)?.Metadata) is { } offer)
            {
                offers.Add(offer);
            }
        }

        var peer = target.GrainIdentity.Key.ToString();
        var reservation = await ledger.ReserveAsync(peer, device, avoid, offers).ConfigureAwait(false)
            ?? throw new SlotUnavailableException(offers.Count == 0
                ? $"peer '{peer}' waits for a slot: no worker silo has joined the cluster"
                : $"peer '{peer}' waits for a slot: none of the {offers.Sum(o => o.Slots.Count(s => SlotChooser.Matches(s.Device, device)))} '{device}' slot(s) on {offers.Count} worker silo(s) is free");
        return SiloAddress.FromParsableString(reservation.Silo);
    }
}
