using Grpc.Core;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Coordinator.Tests;

/// <summary>Registration, leases and heartbeats.</summary>
public sealed class WorkerRegistryTests : IDisposable
{
    private readonly Harness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Register_ProposedId_IsKeptWithLeaseTerms()
    {
        var reply = _h.Register("alpha", slots: 2);

        Assert.Equal("alpha", reply.WorkerId);
        Assert.Equal(5000, reply.LeaseMs);
        Assert.Equal(1000, reply.HeartbeatIntervalMs);
        Assert.Equal(Harness.Start + TimeSpan.FromSeconds(5), _h.State.LeaseExpiry("alpha"));
    }

    [Fact]
    public void Register_NoProposedId_GetsGeneratedOne()
    {
        var first = _h.State.Register(new RegisterWorkerRequest { Address = "a:1", Slots = { new Slot { Index = 0, Device = "cpu" } } });
        var second = _h.State.Register(new RegisterWorkerRequest { Address = "b:1", Slots = { new Slot { Index = 0, Device = "cpu" } } });

        Assert.StartsWith("w-", first.WorkerId, StringComparison.Ordinal);
        Assert.NotEqual(first.WorkerId, second.WorkerId);
        Assert.Equal(2, _h.State.WorkerIds().Count);
    }

    [Theory]
    [InlineData("", 1, "address is empty")]
    [InlineData("a:1", 0, "slots is empty")]
    public void Register_BadRequest_InvalidArgument(string address, int slots, string expected)
    {
        var request = new RegisterWorkerRequest { WorkerId = "w", Address = address };
        request.Slots.AddRange(Enumerable.Range(0, slots).Select(i => new Slot { Index = i }));

        var e = Assert.Throws<RpcException>(() => _h.State.Register(request));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(expected, e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_DuplicateSlotIndex_InvalidArgumentNamingTheSlot()
    {
        var request = new RegisterWorkerRequest { WorkerId = "w", Address = "w:1", Slots = { new Slot { Index = 0 }, new Slot { Index = 0 } } };

        var e = Assert.Throws<RpcException>(() => _h.State.Register(request));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("slots[1].index 0", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Heartbeat_RenewsLease_SilenceExpiresIt()
    {
        _h.Register("alpha");
        _h.Advance(4);
        var reply = _h.Heartbeat("alpha");
        Assert.Equal(5000, reply.LeaseMs);
        Assert.Equal(Harness.Start + TimeSpan.FromSeconds(9), _h.State.LeaseExpiry("alpha"));

        _h.Advance(4); // 8 s after registering, 4 s after the heartbeat: alive
        _h.State.Tick();
        Assert.Contains("alpha", _h.State.WorkerIds());

        _h.Advance(2); // 6 s of silence
        _h.State.Tick();
        Assert.DoesNotContain("alpha", _h.State.WorkerIds());
    }

    [Fact]
    public void Heartbeat_UnknownWorker_NotFound()
    {
        var e = Assert.Throws<RpcException>(() => _h.Heartbeat("ghost"));

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("worker 'ghost' is not registered (its lease expired?); register again", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Heartbeat_AfterLeaseExpired_NotFoundUntilRegisteredAgain()
    {
        _h.Register("alpha");
        _h.Advance(6);
        _h.State.Tick();

        Assert.Equal(StatusCode.NotFound, Assert.Throws<RpcException>(() => _h.Heartbeat("alpha")).StatusCode);
        _h.Register("alpha");
        Assert.Empty(_h.Heartbeat("alpha").Start);
    }

    [Fact]
    public void Assignment_RepeatedUntilAcknowledged()
    {
        _h.Register("alpha", slots: 2);
        var submitted = _h.Submit(TestSpecs.Smoke);

        var first = _h.Heartbeat("alpha").Start;
        var again = _h.Heartbeat("alpha").Start;
        Assert.Equal(2, first.Count);
        Assert.Equal(first, again);

        // Reporting one peer (in any state) acknowledges it; the other is still repeated.
        var mlp = first.Single(a => a.Peer == "mlp");
        var afterOne = _h.Heartbeat("alpha", Harness.Progress(mlp, PeerState.Pending));
        Assert.Equal(["cnn"], afterOne.Start.Select(a => a.Peer));

        var cnn = first.Single(a => a.Peer == "cnn");
        Assert.Empty(_h.Heartbeat("alpha", Harness.Progress(cnn, PeerState.Active, step: 3)).Start);
        Assert.Empty(_h.Heartbeat("alpha").Start);
        Assert.Equal(submitted.Run, mlp.Run);
    }

    [Fact]
    public void Heartbeat_ListsEndpointsOfItsCohorts()
    {
        _h.Register("alpha");
        _h.Register("beta");
        _h.Submit(TestSpecs.Smoke);
        var alpha = _h.Accept("alpha").Single();
        _h.Heartbeat("alpha", Harness.Progress(alpha, PeerState.Active, step: 1));

        var reply = _h.Heartbeat("beta");

        Assert.Equal(2, reply.Peers.Count);
        var seen = reply.Peers.Single(p => p.Peer == alpha.Peer);
        Assert.Equal(("alpha", "alpha.local:7000", 1UL, PeerState.Active, "smoke"), (seen.WorkerId, seen.Address, seen.Generation, seen.State, seen.Cohort));
        var own = reply.Peers.Single(p => p.Peer != alpha.Peer);
        Assert.Equal(("beta", PeerState.Pending), (own.WorkerId, own.State));
    }

    [Fact]
    public void Heartbeat_UnknownPeerProgress_IsIgnored_AndTheTrainingPeerStopped()
    {
        // What a worker reports after the coordinator restarted: peers nobody watches any more.
        _h.Register("alpha");
        var reply = _h.Heartbeat("alpha", new PeerProgress { Cohort = "nope", Run = "r", Peer = "p", Generation = 1, State = PeerState.Active });

        var stop = Assert.Single(reply.Stop);
        Assert.Equal(("nope", "r", "p", 1UL), (stop.Cohort, stop.Run, stop.Peer, stop.Generation));
        Assert.Empty(reply.Start);

        // One that ended already needs no stop.
        Assert.Empty(_h.Heartbeat("alpha", new PeerProgress { Cohort = "nope", Run = "r", Peer = "p", Generation = 1, State = PeerState.Completed }).Stop);
    }
}
