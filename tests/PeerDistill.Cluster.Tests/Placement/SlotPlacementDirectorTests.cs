using System.Collections.Immutable;
using System.Net;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;
using PeerDistill.Cluster.Placement;
using Xunit;

namespace PeerDistill.Cluster.Tests.Placement;

/// <summary>The slot placement director on its own, over fakes of Orleans' metadata cache, membership and placement context, and a ledger over <see cref="SlotChooser"/>.</summary>
public sealed class SlotPlacementDirectorTests
{
    private static readonly SiloAddress Coordinator = SiloAddress.New(IPAddress.Loopback, 11111, 1);
    private static readonly SiloAddress CpuWorker = SiloAddress.New(IPAddress.Loopback, 11112, 1);
    private static readonly SiloAddress GpuWorker = SiloAddress.New(IPAddress.Loopback, 11113, 1);
    private static readonly SiloAddress BareWorker = SiloAddress.New(IPAddress.Loopback, 11114, 1);

    private readonly Cluster _cluster = new();
    private readonly MemoryLedger _ledger = new();

    public SlotPlacementDirectorTests()
    {
        _cluster.Add(Coordinator, "coordinator", SiloRoles.Coordinator, "0=cpu/1");
        _cluster.Add(CpuWorker, "w-cpu", SiloRoles.Worker, "0=cpu/1");
        _cluster.Add(GpuWorker, "w-gpu", SiloRoles.Worker, "0=cpu/1;1=cuda:0/0");
        _cluster.Add(BareWorker, "w-bare", SiloRoles.Worker, null);
    }

    private SlotPlacementDirector Director => new(_cluster, _cluster, _ledger);

    [Fact]
    public async Task CudaPeer_PlacedOnTheSiloWithThatDevice()
    {
        var silo = await Director.OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/mlp", "cuda:0"), _cluster);

        Assert.Equal(GpuWorker, silo);
        var held = Assert.Single(_ledger.Held);
        Assert.Equal(("trio/r1/mlp", "w-gpu", 1, "cuda:0"), (held.Peer, held.WorkerId, held.Slot.Index, held.Slot.Device));
        Assert.Equal(GpuWorker.ToParsableString(), held.Silo);
    }

    [Fact]
    public async Task OnlyWorkerSilosWithSlots_AreOffered()
    {
        await Director.OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/mlp", "cpu"), _cluster);

        var offers = Assert.Single(_ledger.Requests).Offers;
        Assert.Equal(["w-cpu", "w-gpu"], offers.Select(o => o.WorkerId).Order());
        Assert.Equal([1, 2], offers.OrderBy(o => o.WorkerId).Select(o => o.Slots.Count));
    }

    [Fact]
    public async Task NoDeviceInTheRequestContext_Cpu()
    {
        var silo = await Director.OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/mlp", device: null), _cluster);

        Assert.Equal("cpu", Assert.Single(_ledger.Requests).Device);
        Assert.Equal(CpuWorker, silo); // w-cpu and w-gpu each have one free cpu slot: the name decides
    }

    [Fact]
    public async Task AvoidWorker_PassedOnToTheLedger()
    {
        var silo = await Director.OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/mlp", "cpu", avoid: "w-cpu"), _cluster);

        Assert.Equal("w-cpu", Assert.Single(_ledger.Requests).Avoid);
        Assert.Equal(GpuWorker, silo);
    }

    [Fact]
    public async Task EverySlotOfTheDeviceHeld_SlotUnavailableSayingSo()
    {
        await Director.OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/mlp", "cuda:0"), _cluster);

        var e = await Assert.ThrowsAsync<SlotUnavailableException>(() => Director.OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/cnn", "cuda:0"), _cluster));

        Assert.Equal("peer 'trio/r1/cnn' waits for a slot: none of the 1 'cuda:0' slot(s) on 2 worker silo(s) is free", e.Message);
    }

    [Fact]
    public async Task NoWorkerSilo_SlotUnavailableSayingSo()
    {
        var alone = new Cluster();
        alone.Add(Coordinator, "coordinator", SiloRoles.Coordinator, "0=cpu/1");

        var e = await Assert.ThrowsAsync<SlotUnavailableException>(() => new SlotPlacementDirector(alone, alone, _ledger).OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/mlp", "cpu"), alone));

        Assert.Equal("peer 'trio/r1/mlp' waits for a slot: no worker silo has joined the cluster", e.Message);
        Assert.Empty(Assert.Single(_ledger.Requests).Offers);
    }

    [Fact]
    public async Task SiloNotCompatibleWithTheGrain_NotOffered()
    {
        _cluster.Incompatible.Add(GpuWorker);

        var silo = await Director.OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/mlp", "cpu"), _cluster);

        Assert.Equal(CpuWorker, silo);
        Assert.Equal(["w-cpu"], Assert.Single(_ledger.Requests).Offers.Select(o => o.WorkerId));
    }

    [Fact]
    public async Task PeerPlacedAgain_KeepsItsReservation()
    {
        var first = await Director.OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/mlp", "cpu"), _cluster);

        var again = await Director.OnAddActivation(SlotPlacement.Singleton, Target("trio/r1/mlp", "cpu"), _cluster);

        Assert.Equal(first, again);
        Assert.Single(_ledger.Held);
    }

    private static PlacementTarget Target(string peer, string? device, string? avoid = null)
    {
        var context = new Dictionary<string, object>();
        if (device is not null)
        {
            context[PlacementKeys.Device] = device;
        }

        if (avoid is not null)
        {
            context[PlacementKeys.AvoidWorker] = avoid;
        }

        return new PlacementTarget(GrainId.Create("peer", peer), context, GrainInterfaceType.Create("IPeerGrain"), 0);
    }

    /// <summary>Silos with metadata and names: Orleans' metadata cache, membership service and placement context in one.</summary>
    private sealed class Cluster : ISiloMetadataCache, IClusterMembershipService, IPlacementContext
    {
        private readonly Dictionary<SiloAddress, SiloMetadata> _metadata = [];
        private ImmutableDictionary<SiloAddress, ClusterMember> _members = ImmutableDictionary<SiloAddress, ClusterMember>.Empty;

        public HashSet<SiloAddress> Incompatible { get; } = [];

        public ClusterMembershipSnapshot CurrentSnapshot => new(_members, new MembershipVersion(_members.Count));

        public IAsyncEnumerable<ClusterMembershipSnapshot> MembershipUpdates => throw new NotSupportedException();

        public SiloAddress LocalSilo => Coordinator;

        public SiloStatus LocalSiloStatus => SiloStatus.Active;

        public void Add(SiloAddress silo, string name, string role, string? slots)
        {
            var entries = new Dictionary<string, string> { [SiloRoles.RoleKey] = role };
            if (slots is not null)
            {
                entries[SiloRoles.SlotsKey] = slots;
            }

            _metadata[silo] = Metadata(entries);
            _members = _members.Add(silo, new ClusterMember(silo, SiloStatus.Active, name));
        }

        /// <summary>Orleans 10.4.2 fills SiloMetadata only from within (its setter is private): the same, by reflection.</summary>
        private static SiloMetadata Metadata(Dictionary<string, string> entries)
        {
            var metadata = new SiloMetadata();
            typeof(SiloMetadata).GetProperty(nameof(SiloMetadata.Metadata))!.SetValue(metadata, entries.ToImmutableDictionary());
            return metadata;
        }

        public SiloMetadata GetSiloMetadata(SiloAddress siloAddress) => _metadata.GetValueOrDefault(siloAddress) ?? SiloMetadata.Empty;

        public SiloAddress[] GetCompatibleSilos(PlacementTarget target) => _members.Keys.Where(s => !Incompatible.Contains(s)).OrderBy(s => s.Endpoint.Port).ToArray();

        public IReadOnlyDictionary<ushort, SiloAddress[]> GetCompatibleSilosWithVersions(PlacementTarget target) => new Dictionary<ushort, SiloAddress[]> { [0] = GetCompatibleSilos(target) };

        public ValueTask Refresh(MembershipVersion minimumVersion = default, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public Task<bool> TryKill(SiloAddress siloAddress) => Task.FromResult(false);
    }

    /// <summary>The slot board's rules without the grain: a peer keeps its slot while its silo is offered, else <see cref="SlotChooser"/> picks one.</summary>
    private sealed class MemoryLedger : ISlotLedger
    {
        private readonly Dictionary<string, SlotReservation> _held = new(StringComparer.Ordinal);

        public List<(string Peer, string Device, string? Avoid, IReadOnlyList<SiloOffer> Offers)> Requests { get; } = [];

        public IReadOnlyCollection<SlotReservation> Held => _held.Values;

        public Task<SlotReservation?> ReserveAsync(string peer, string device, string? avoidWorker, IReadOnlyList<SiloOffer> offers)
        {
            Requests.Add((peer, device, avoidWorker, offers));
            if (_held.TryGetValue(peer, out var current) && offers.Any(o => o.Silo == current.Silo))
            {
                return Task.FromResult<SlotReservation?>(current);
            }

            _held.Remove(peer);
            var chosen = SlotChooser.Choose(peer, device, avoidWorker, offers, _held.Values.ToList());
            if (chosen is not null)
            {
                _held[peer] = chosen;
            }

            return Task.FromResult(chosen);
        }
    }
}
