using PeerDistill.Cluster.Placement;
using Xunit;

namespace PeerDistill.Cluster.Tests.Placement;

/// <summary>Which slot a peer gets: its device, never a held slot, most free first, then fewest of its run, then name; an avoided worker last.</summary>
public sealed class SlotChooserTests
{
    private static SiloOffer Offer(string worker, params string[] devices) =>
        new($"silo-{worker}", worker, devices.Select((d, i) => new SlotDescriptor(i, d, 1)).ToList());

    private static SlotReservation Held(string peer, SiloOffer offer, int slot) => new(peer, offer.Silo, offer.WorkerId, offer.Slots[slot]);

    [Fact]
    public void PeersOneAfterAnother_NeverShareASlot()
    {
        SiloOffer[] offers = [Offer("a", "cpu", "cpu"), Offer("b", "cpu")];
        var held = new List<SlotReservation>();

        for (var i = 0; i < 3; i++)
        {
            held.Add(SlotChooser.Choose($"trio/r1/p{i}", "cpu", null, offers, held)!);
        }

        Assert.Equal(3, held.Select(h => (h.Silo, h.Slot.Index)).Distinct().Count());
        Assert.Null(SlotChooser.Choose("trio/r1/p3", "cpu", null, offers, held));
    }

    [Fact]
    public void CudaPeer_OnlyOnASiloWithThatDevice()
    {
        SiloOffer[] offers = [Offer("a", "cpu", "cuda:0"), Offer("b", "cuda:1"), Offer("c", "cpu", "cpu", "cpu")];

        var one = SlotChooser.Choose("trio/r1/mlp", "cuda:1", null, offers, []);
        var zero = SlotChooser.Choose("trio/r1/cnn", "cuda:0", null, offers, []);
        var bare = SlotChooser.Choose("trio/r1/wide", "cuda", null, offers, []);
        var none = SlotChooser.Choose("trio/r1/big", "cuda:2", null, offers, []);

        Assert.Equal(("b", 0, "cuda:1"), (one!.WorkerId, one.Slot.Index, one.Slot.Device));
        Assert.Equal(("a", 1, "cuda:0"), (zero!.WorkerId, zero.Slot.Index, zero.Slot.Device));
        Assert.Equal(("a", 1), (bare!.WorkerId, bare.Slot.Index)); // "cuda" means cuda:0
        Assert.Null(none);
    }

    [Fact]
    public void CudaSlotHeld_CudaPeerWaits_EvenWithFreeCpuSlots()
    {
        var a = Offer("a", "cpu", "cuda:0");

        var chosen = SlotChooser.Choose("trio/r1/cnn", "cuda:0", null, [a], [Held("trio/r1/mlp", a, 1)]);

        Assert.Null(chosen);
    }

    [Fact]
    public void CpuPeer_NeverGivenACudaSlot()
    {
        var chosen = SlotChooser.Choose("trio/r1/mlp", "cpu", null, [Offer("a", "cuda:0", "cuda:1"), Offer("b", "cuda:0", "cpu")], []);

        Assert.Equal(("b", 1, "cpu"), (chosen!.WorkerId, chosen.Slot.Index, chosen.Slot.Device));
    }

    [Fact]
    public void MostFreeSlotsFirst_LowestFreeSlotThere()
    {
        var a = Offer("a", "cpu", "cpu");
        var b = Offer("b", "cpu", "cpu", "cpu");

        var chosen = SlotChooser.Choose("trio/r1/mlp", "cpu", null, [a, b], [Held("other/r1/x", b, 0)]);

        // One of b's three slots held: a and b both have 2 free, and the name decides; all free, b has the most.
        Assert.Equal(("a", 0), (chosen!.WorkerId, chosen.Slot.Index));
        var most = SlotChooser.Choose("trio/r1/mlp", "cpu", null, [a, b], [Held("other/r1/x", b, 1)]);
        Assert.Equal(("a", 0), (most!.WorkerId, most.Slot.Index));
        var free = SlotChooser.Choose("trio/r1/mlp", "cpu", null, [a, b], []);
        Assert.Equal(("b", 0), (free!.WorkerId, free.Slot.Index));
        var skipHeld = SlotChooser.Choose("trio/r1/mlp", "cpu", null, [b], [Held("other/r1/x", b, 0)]);
        Assert.Equal(1, skipHeld!.Slot.Index);
    }

    [Fact]
    public void TieOnFreeSlots_FewestPeersOfTheSameRunWins_ThenName()
    {
        var a = Offer("a", "cpu", "cpu");
        var b = Offer("b", "cpu", "cpu");

        var sameRun = SlotChooser.Choose("trio/r1/cnn", "cpu", null, [a, b], [Held("trio/r1/mlp", a, 0), Held("other/r1/x", b, 0)]);
        var otherRun = SlotChooser.Choose("trio/r2/cnn", "cpu", null, [b, a], [Held("trio/r1/mlp", a, 0), Held("other/r1/x", b, 0)]);

        Assert.Equal("b", sameRun!.WorkerId);
        Assert.Equal("a", otherRun!.WorkerId); // neither holds a peer of trio/r2: the name decides, whatever the order of the offers
    }

    [Fact]
    public void AvoidedWorker_OnlyWhenNothingElseIsFree()
    {
        var a = Offer("a", "cpu", "cpu", "cpu");
        var b = Offer("b", "cpu");

        var elsewhere = SlotChooser.Choose("trio/r1/mlp", "cpu", "a", [a, b], []);
        var lastResort = SlotChooser.Choose("trio/r1/mlp", "cpu", "a", [a, b], [Held("trio/r1/cnn", b, 0)]);

        Assert.Equal("b", elsewhere!.WorkerId);
        Assert.Equal("a", lastResort!.WorkerId);
    }

    [Theory]
    [InlineData("cpu", "cpu", true)]
    [InlineData("CPU", "cpu", true)]
    [InlineData("cuda", "cuda:0", true)]
    [InlineData("cuda:0", " cuda:0 ", true)]
    [InlineData("cuda:1", "cuda:0", false)]
    [InlineData("cpu", "cuda:0", false)]
    public void Matches_SameDeviceOnly(string slot, string wanted, bool expected) => Assert.Equal(expected, SlotChooser.Matches(slot, wanted));
}
