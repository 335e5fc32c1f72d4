using Grpc.Core;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>One cluster key for the in-process exchange tests, and tickets signed with it (the test is the cohort grain).</summary>
internal static class TestTickets
{
    public static readonly byte[] Key = TicketCodec.NewKey();

    public static readonly TicketCodec Codec = new(Key);

    /// <summary>A registry that checks tickets with <see cref="Key"/>.</summary>
    public static ExchangeRegistry Registry()
    {
        var registry = new ExchangeRegistry();
        registry.Tickets.Set(Key);
        return registry;
    }

    /// <summary>A valid ticket's text for that generation of the peer.</summary>
    public static string Text(string cohort, string run, string peer, ulong generation) =>
        Codec.Issue(ExchangeTicket.For(cohort, run, peer, generation, DateTimeOffset.UtcNow));

    /// <summary>Call metadata carrying a valid ticket of what <paramref name="frame"/> claims to be.</summary>
    public static Metadata For(LogitsFrame frame) => new() { { ExchangeTicket.Header, Text(frame.Cohort, frame.Run, frame.Sender, frame.Generation) } };
}
