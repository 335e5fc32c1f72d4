using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Transport;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>A link's held frames, on a clock the test moves: what goes out when, and what wakes it.</summary>
// Counts frames through the exchange's instruments (one per process): never beside another class whose links send on cohort co, run run1.
[Collection(ExchangeMeasurementsCollection.Name)]
public sealed class PeerLinkTests
{
    [Theory]
    [InlineData("in this process")]
    [InlineData("over a stream")]
    public async Task HeldFrames_GoOutOneAfterAnother_AsSoonAsTheFirstIsTaken_WithoutWaitingForTheClock(string receiverIs)
    {
        // 'b' is not placed yet as far as the receiver's worker knows: its frames are refused for
        // now (UNAVAILABLE) and held. Once it is placed, one recheck sends the first again; every
        // later one must follow on the verdict of the one before, not on later rechecks (at a
        // recheck per frame, a backlog never drains while the sender steps faster than 4 a second,
        // and a receiver under bounded staleness finds every frame too old).
        const int Frames = 8;
        var hub = ExchangeHubTests.NewHub(out var directory, peers: [
            new PeerLocation("b", string.Empty, 0, PeerPresence.Active),
            new PeerLocation("c", "http://w3", 1, PeerPresence.Active),
        ]);
        await using var server = receiverIs == "over a stream" ? await ServeAsync(hub) : null;
        using var channel = server is null ? null : GrpcChannels.ForAddress(server.Address.ToString());
        var receiverAt = server?.Address.ToString() ?? "http://w1";
        directory.Update([new PeerLocation("a", receiverAt, 1, PeerPresence.Active)]);
        var clock = new FakeTimeProvider();
        using var statistics = new ExchangeMeasurements("co", "run1");
        var ticket = TestTickets.Text("co", "run1", "b", 1);
        await using var link = new PeerLink("b", "a", "http://w1", hub, directory, _ => channel ?? throw new InvalidOperationException("the receiver is hosted here"), () => ticket, NullLogger.Instance, clock);
        link.Enqueue(ExchangeHubTests.Frame("b", 0));
        await Until(() => statistics.Refused == 1, () => "the first frame was not refused");
        for (var step = 1; step < Frames; step++)
        {
            link.Enqueue(ExchangeHubTests.Frame("b", step));
        }

        directory.Update([new PeerLocation("b", "http://w2", 1, PeerPresence.Active)]);
        clock.Advance(FrameBacklog.RecheckInterval);

        await Until(() => statistics.Frames - statistics.Refused == Frames, () => $"after one recheck, {statistics.Frames - statistics.Refused} of the {Frames} held frames were taken ({statistics.Frames} sent, {statistics.Refused} refused)");
        Assert.Equal(1, statistics.Refused);
        var gathered = hub.Gather("a", Frames - 1, ["b"], CancellationToken.None);
        Assert.Equal(Frames - 1, Assert.Single(gathered).Step);
    }

    [Fact]
    public async Task AFrameRefusedForNow_IsSentAgainOnlyWhenItsRecheckIsDue()
    {
        var hub = ExchangeHubTests.NewHub(out var directory, peers: [
            new PeerLocation("a", "http://w1", 1, PeerPresence.Active),
            new PeerLocation("b", string.Empty, 0, PeerPresence.Active),
        ]);
        var clock = new FakeTimeProvider();
        using var statistics = new ExchangeMeasurements("co", "run1");
        await using var link = new PeerLink("b", "a", "http://w1", hub, directory, _ => throw new InvalidOperationException("the receiver is hosted here"), () => string.Empty, NullLogger.Instance, clock);
        link.Enqueue(ExchangeHubTests.Frame("b", 0));
        await Until(() => statistics.Refused == 1, () => "the frame was not refused");

        // A second frame joins the backlog (it would be taken, but goes out in order), and nothing
        // is sent again before the recheck is due.
        link.Enqueue(ExchangeHubTests.Frame("b", 1));
        clock.Advance(FrameBacklog.RecheckInterval / 2);
        await Task.Delay(200);
        Assert.Equal(1, statistics.Frames);

        clock.Advance(FrameBacklog.RecheckInterval / 2);
        await Until(() => statistics.Refused == 2, () => $"the held frame was not sent again when its recheck fell due (frames {statistics.Frames}, refused {statistics.Refused}, now {clock.GetUtcNow():O})");
        Assert.Equal(2, statistics.Frames);
    }

    private static async Task<ExchangeServer> ServeAsync(ExchangeHub hub)
    {
        var registry = TestTickets.Registry();
        registry.Add(hub);
        return await ExchangeServer.StartAsync(registry);
    }

    private static async Task Until(Func<bool> condition, Func<string> failure)
    {
        // Real time only bounds a hang: each step here is a hand-over in this process.
        var patience = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(patience.Elapsed < TimeSpan.FromSeconds(30), failure());
            await Task.Delay(10);
        }
    }
}
