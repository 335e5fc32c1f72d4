using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Hosting;
using PeerDistill.Cluster.Transport;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>
/// The PeerExchange service's ticket checks over a real gRPC server: each refusal with its status
/// before any frame is taken, counted by reason, and the hub untouched (the genuine sender's next
/// frame is taken); a re-activated sender's old ticket stops working; Probe from off this machine
/// needs a ticket and tells only of its run.
/// </summary>
// Counts frames through the exchange's instruments (one per process): never beside another class whose links send on cohort co, run run1.
[Collection(ExchangeMeasurementsCollection.Name)]
public sealed class TicketServiceTests
{
    [Fact]
    public async Task EachBadTicket_IsRefusedWithItsStatus_BeforeAnyFrame_AndTheGenuineSenderGoesOn()
    {
        var hub = ExchangeHubTests.NewHub(out var directory);
        var registry = TestTickets.Registry();
        registry.Add(hub);
        await using var server = await ExchangeServer.StartAsync(registry);
        using var channel = GrpcChannels.ForAddress(server.Address);
        var client = new PeerExchange.PeerExchangeClient(channel);
        var frame = ExchangeHubTests.Frame("b", 0);
        var now = DateTimeOffset.UtcNow;
        var valid = TestTickets.Text("co", "run1", "b", 1);
        var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(valid);
        bytes[5] ^= 0x04;
        var cases = new (string What, string? Ticket, LogitsFrame Frame, StatusCode Code, TicketRefusal Reason, string Says)[]
        {
            ("no ticket", null, frame, StatusCode.Unauthenticated, TicketRefusal.Missing, "carries no exchange ticket"),
            ("garbage", "%%%", frame, StatusCode.Unauthenticated, TicketRefusal.Malformed, "malformed"),
            ("forged", new TicketCodec(TicketCodec.NewKey()).Issue(ExchangeTicket.For("co", "run1", "b", 1, now)), frame, StatusCode.Unauthenticated, TicketRefusal.BadSignature, "signature does not verify"),
            ("altered", System.Buffers.Text.Base64Url.EncodeToString(bytes), frame, StatusCode.Unauthenticated, TicketRefusal.BadSignature, "signature does not verify"),
            ("expired", TestTickets.Codec.Issue(new ExchangeTicket("co", "run1", "b", 1, now.AddSeconds(-1).ToUnixTimeMilliseconds())), frame, StatusCode.Unauthenticated, TicketRefusal.Expired, "expired"),
            ("another cohort's", TestTickets.Text("other", "run1", "b", 1), frame, StatusCode.PermissionDenied, TicketRefusal.OtherCohort, "cohort 'other'"),
            ("another run's", TestTickets.Text("co", "run0", "b", 1), frame, StatusCode.PermissionDenied, TicketRefusal.OtherCohort, "run 'run0'"),
            ("another sender's", TestTickets.Text("co", "run1", "c", 1), frame, StatusCode.PermissionDenied, TicketRefusal.FrameMismatch, "from 'b' generation 1 came with the ticket of 'c'"),
            ("another generation's", TestTickets.Text("co", "run1", "b", 5), frame, StatusCode.PermissionDenied, TicketRefusal.FrameMismatch, "generation 1 came with the ticket of 'b' generation 5"),
        };
        foreach (var c in cases)
        {
            var (acks, e) = await SendAsync(client, c.Ticket, c.Frame);
            Assert.True(e is not null, $"{c.What}: not refused ({acks} ack(s))");
            Assert.True((c.Code, 0) == (e.StatusCode, acks), $"{c.What}: {e.StatusCode} after {acks} ack(s): {e.Status.Detail}");
            Assert.Contains(c.Says, e.Status.Detail, StringComparison.Ordinal);
            Assert.True(c.Ticket is null || !e.Status.Detail.Contains(c.Ticket, StringComparison.Ordinal), $"{c.What}: the detail repeats the ticket");
        }

        var expected = cases.GroupBy(c => c.Reason).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(expected.OrderBy(kv => kv.Key), registry.Refusals.Snapshot().OrderBy(kv => kv.Key));

        // Nothing of it reached the hub: the genuine sender's frame of step 0 is taken, on its ticket.
        var (taken, refused) = await SendAsync(client, valid, frame);
        Assert.Null(refused);
        Assert.Equal(1, taken);
        Assert.Equal([("b", 0L)], hub.Gather("a", 0, ["b"], CancellationToken.None).Select(t => (t.Peer, t.Step)));

        // The sender is re-activated (generation 2): its generation-1 ticket stops working at once.
        directory.Update([new PeerLocation("b", "http://w2", 2, PeerPresence.Active, Step: 1)]);
        var (_, old) = await SendAsync(client, valid, ExchangeHubTests.Frame("b", 1));
        Assert.Equal(StatusCode.FailedPrecondition, old?.StatusCode);
        Assert.Contains("superseded: the cohort runs generation 2", old!.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, registry.Refusals.Count(TicketRefusal.OlderGeneration));
        var (renewed, none) = await SendAsync(client, TestTickets.Text("co", "run1", "b", 2), ExchangeHubTests.Frame("b", 1, generation: 2));
        Assert.Null(none);
        Assert.Equal(1, renewed);
    }

    [Fact]
    public async Task TicketsOffUnset_AStreamWithoutATicketIsRefused_OnlyTheBenchBaselineTakesIt()
    {
        Assert.False(new WorkerOptions().ExchangeTicketsOff);
        foreach (var off in new[] { false, true })
        {
            var hub = ExchangeHubTests.NewHub(out _);
            var registry = off ? new ExchangeRegistry { TicketsOff = true } : new ExchangeRegistry();
            registry.Tickets.Set(TestTickets.Key);
            registry.Add(hub);
            await using var server = await ExchangeServer.StartAsync(registry);
            using var channel = GrpcChannels.ForAddress(server.Address);

            var (acks, e) = await SendAsync(new PeerExchange.PeerExchangeClient(channel), null, ExchangeHubTests.Frame("b", 0));

            if (off)
            {
                Assert.True((e, acks) == (null, 1), $"the bench's baseline refused a stream without a ticket: {e?.Status}");
                Assert.Empty(registry.Refusals.Snapshot());
            }
            else
            {
                Assert.Equal((StatusCode.Unauthenticated, 0), (e?.StatusCode, acks));
                Assert.Equal(1, registry.Refusals.Count(TicketRefusal.Missing));
            }
        }
    }

    [Fact]
    public async Task ATicketExpiringWhileItsStreamIsOpen_EndsTheStreamAtItsNextFrame()
    {
        var hub = ExchangeHubTests.NewHub(out _);
        var registry = TestTickets.Registry();
        registry.Add(hub);
        // The server's clock is the test's: the ticket expires when the test moves it, however slowly the machine runs.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await ExchangeServer.StartAsync(registry, time: clock);
        using var channel = GrpcChannels.ForAddress(server.Address);
        var expiry = clock.GetUtcNow().AddSeconds(2);
        var ticket = TestTickets.Codec.Issue(new ExchangeTicket("co", "run1", "b", 1, expiry.ToUnixTimeMilliseconds()));
        using var call = new PeerExchange.PeerExchangeClient(channel).Exchange(new Metadata { { ExchangeTicket.Header, ticket } }, DateTime.UtcNow.AddSeconds(30));
        await call.RequestStream.WriteAsync(ExchangeHubTests.Frame("b", 0));
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.True(call.ResponseStream.Current.Accepted, call.ResponseStream.Current.Reason);

        clock.Advance(TimeSpan.FromSeconds(3));
        await call.RequestStream.WriteAsync(ExchangeHubTests.Frame("b", 1));
        var e = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Contains("expired while its stream was open", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, registry.Refusals.Count(TicketRefusal.Expired));
    }

    [Fact]
    public async Task ALinkWhoseTicketIsRenewed_MovesToANewStreamWithIt_AndNoFrameMeetsTheOldOnesExpiry()
    {
        var log = new LinesLogger();
        var hub = new ExchangeHub(ExchangeHubTests.NewHub(out var directory).Settings, directory, log);
        hub.Host("a", 1, ["b", "c"], startStep: 0);
        var registry = TestTickets.Registry();
        registry.Add(hub);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await ExchangeServer.StartAsync(registry, time: clock);
        using var channel = GrpcChannels.ForAddress(server.Address);
        directory.Update([new PeerLocation("a", server.Address.ToString(), 1, PeerPresence.Active)]);
        var expiry = clock.GetUtcNow().AddSeconds(2);
        var ticket = TestTickets.Codec.Issue(new ExchangeTicket("co", "run1", "b", 1, expiry.ToUnixTimeMilliseconds()));
        using var statistics = new ExchangeMeasurements("co", "run1");
        await using var link = new PeerLink("b", "a", "http://w2", hub, directory, _ => channel, () => Volatile.Read(ref ticket), log, TimeProvider.System);
        link.Enqueue(ExchangeHubTests.Frame("b", 0));
        await UntilAsync(() => statistics.Frames == 1, () => $"the first frame was not acknowledged ({statistics.Frames} frames)");
        Assert.Equal(0, statistics.Refused);

        // Its cohort renews the ticket: the link ends its stream and opens one with the new ticket,
        // which starts with its latest frame again (refused as a second frame of step 0: harmless).
        Volatile.Write(ref ticket, TestTickets.Text("co", "run1", "b", 1));
        await UntilAsync(() => statistics.Frames == 2, () => $"the link did not move to a new stream ({statistics.Frames} frames)\n{log.Text}");

        // Past the old ticket's expiry (by the server's clock) the next frame goes on the new stream and is taken.
        clock.Advance(TimeSpan.FromSeconds(3));
        link.Enqueue(ExchangeHubTests.Frame("b", 1));
        await UntilAsync(() => statistics.Frames == 3, () => $"the frame after the expiry was not acknowledged ({statistics.Frames} frames, refusals {string.Join(", ", registry.Refusals.Snapshot())})\n{log.Text}");
        Assert.True(statistics.Refused == 1, $"{statistics.Frames} frames, {statistics.Refused} refused\n{log.Text}");
        Assert.Empty(registry.Refusals.Snapshot());
        Assert.Equal([("b", 0L)], hub.Gather("a", 0, ["b"], CancellationToken.None).Select(t => (t.Peer, t.Step)));
        var second = hub.Gather("a", 1, ["b"], CancellationToken.None).Select(t => (t.Peer, t.Step)).ToList();
        Assert.True(second.SequenceEqual([("b", 1L)]), $"step 1: {string.Join(", ", second)}\n{log.Text}");
    }

    private static async Task UntilAsync(Func<bool> condition, Func<string> failure)
    {
        var patience = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(patience.Elapsed < TimeSpan.FromSeconds(30), failure());
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task AWorkerWithoutTheClustersKeyYet_AnswersUnavailable()
    {
        var registry = new ExchangeRegistry();
        registry.Add(ExchangeHubTests.NewHub(out _));
        await using var server = await ExchangeServer.StartAsync(registry);
        using var channel = GrpcChannels.ForAddress(server.Address);
        var (_, e) = await SendAsync(new PeerExchange.PeerExchangeClient(channel), TestTickets.Text("co", "run1", "b", 1), ExchangeHubTests.Frame("b", 0));
        Assert.Equal(StatusCode.Unavailable, e?.StatusCode);
        Assert.Equal(1, registry.Refusals.Count(TicketRefusal.NoKey));
    }

    [Fact]
    public async Task ProbeFromLoopback_AnswersWithoutATicket()
    {
        var registry = TestTickets.Registry();
        registry.Add(ExchangeHubTests.NewHub(out _));
        await using var server = await ExchangeServer.StartAsync(registry);
        using var channel = GrpcChannels.ForAddress(server.Address);
        var reply = await new PeerExchange.PeerExchangeClient(channel).ProbeAsync(new ProbeRequest());
        Assert.Equal(["a"], reply.Peers.Select(p => p.Name));
    }

    [NonLoopbackFact]
    public async Task ProbeFromOffThisMachine_NeedsATicket_AndTellsOnlyOfItsRun()
    {
        var registry = TestTickets.Registry();
        registry.Add(ExchangeHubTests.NewHub(out _));
        var other = new ExchangeHub(new ExchangeSettings("secret-cohort", "s1", ExchangeHubTests.Classes, _ => ExchangeHubTests.Batch, 100, WireDType.Fp32, TimeSpan.FromSeconds(10), 1), new CohortDirectory(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        other.Host("hidden", 1, [], 0);
        registry.Add(other);
        var address = NonLoopbackFactAttribute.Address!;
        await using var server = await ExchangeServer.StartAsync(registry, address.ToString());
        using var channel = GrpcChannels.ForAddress(server.Address);
        var client = new PeerExchange.PeerExchangeClient(channel);

        var none = await Assert.ThrowsAsync<RpcException>(() => client.ProbeAsync(new ProbeRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        var forged = await Assert.ThrowsAsync<RpcException>(() => client.ProbeAsync(new ProbeRequest(), new Metadata { { ExchangeTicket.Header, new TicketCodec(TicketCodec.NewKey()).Issue(ExchangeTicket.For("co", "run1", "b", 1, DateTimeOffset.UtcNow)) } }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, forged.StatusCode);
        var ticket = new Metadata { { ExchangeTicket.Header, TestTickets.Text("co", "run1", "b", 1) } };
        var asked = await Assert.ThrowsAsync<RpcException>(() => client.ProbeAsync(new ProbeRequest { Cohort = "secret-cohort" }, ticket).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, asked.StatusCode);
        Assert.DoesNotContain("hidden", asked.Status.Detail, StringComparison.Ordinal);

        var reply = await client.ProbeAsync(new ProbeRequest(), ticket);
        Assert.Equal(["a"], reply.Peers.Select(p => p.Name));
    }

    [NonLoopbackFact]
    public async Task ReflectionFromOffThisMachine_IsRefused_AndServedOnLoopback()
    {
        var registry = TestTickets.Registry();
        await using var outside = await ExchangeServer.StartAsync(registry, NonLoopbackFactAttribute.Address!.ToString());
        await using var inside = await ExchangeServer.StartAsync(registry);
        static async Task<(StatusCode Code, IReadOnlyList<string> Services)> ListAsync(Uri address, bool v1)
        {
            using var channel = GrpcChannels.ForAddress(address);
            try
            {
                if (v1)
                {
                    using var call = new global::Grpc.Reflection.V1.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(10));
                    await WriteUnlessEndedAsync(call.RequestStream, new global::Grpc.Reflection.V1.ServerReflectionRequest { ListServices = string.Empty });
                    Assert.True(await call.ResponseStream.MoveNext());
                    return (StatusCode.OK, call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList());
                }
                else
                {
                    using var call = new global::Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(10));
                    await WriteUnlessEndedAsync(call.RequestStream, new global::Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = string.Empty });
                    Assert.True(await call.ResponseStream.MoveNext());
                    return (StatusCode.OK, call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList());
                }
            }
            catch (RpcException e)
            {
                return (e.StatusCode, []);
            }
        }

        // A server that refuses the call may end it while the request is still being written: the write
        // then fails with Cancelled (seen at load 30), and the call's own status is what the next read says.
        static async Task WriteUnlessEndedAsync<T>(IClientStreamWriter<T> requests, T request)
        {
            try
            {
                await requests.WriteAsync(request);
            }
            catch (RpcException)
            {
            }
        }

        foreach (var v1 in new[] { false, true })
        {
            Assert.Equal((StatusCode.PermissionDenied, 0), (await ListAsync(outside.Address, v1)) is var o ? (o.Code, o.Services.Count) : default);
            var (code, services) = await ListAsync(inside.Address, v1);
            Assert.Equal(StatusCode.OK, code);
            Assert.Contains("peerdistill.v1.PeerExchange", services);
        }
    }

    /// <summary>Opens a stream with <paramref name="ticket"/> (none when null), sends one frame; the acks read and the status it ended with (null: OK).</summary>
    private static async Task<(int Acks, RpcException? Error)> SendAsync(PeerExchange.PeerExchangeClient client, string? ticket, LogitsFrame frame)
    {
        using var call = client.Exchange(ticket is null ? null : new Metadata { { ExchangeTicket.Header, ticket } }, DateTime.UtcNow.AddSeconds(30));
        var acks = 0;
        try
        {
            try
            {
                await call.RequestStream.WriteAsync(frame);
                await call.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
                // Refused before the frame went out: the status comes with the response.
            }

            while (await call.ResponseStream.MoveNext())
            {
                acks++;
            }

            return (acks, null);
        }
        catch (RpcException e)
        {
            return (acks, e);
        }
    }
}

/// <summary>A fact that needs an IPv4 address of this machine other than loopback (to be a caller from off the machine); Skipped, with the reason, where there is none.</summary>
public sealed class NonLoopbackFactAttribute : FactAttribute
{
    public NonLoopbackFactAttribute()
    {
        if (Address is null)
        {
            Skip = "this machine has no IPv4 address but loopback: a caller from elsewhere cannot be made";
        }
    }

    /// <summary>An up IPv4 address of this machine that is not loopback, or null.</summary>
    public static IPAddress? Address { get; } = NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses)
        .Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
}
