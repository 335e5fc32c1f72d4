namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// What an exchange ticket grants: the holder may send frames as <paramref name="Peer"/>,
/// generation <paramref name="Generation"/>, of cohort <paramref name="Cohort"/> run
/// <paramref name="Run"/>, until <paramref name="ExpiresUnixMs"/>. The cohort grain issues one to
/// every activation of a peer (and a fresh one before it expires); <see cref="TicketCodec"/>
/// signs and checks it with the cluster's key.
/// </summary>
/// <param name="Cohort">The cohort's name.</param>
/// <param name="Run">The run id.</param>
/// <param name="Peer">The sending peer's name.</param>
/// <param name="Generation">The activation generation of the sending peer (1 and up).</param>
/// <param name="ExpiresUnixMs">When the ticket stops being valid, in milliseconds since the Unix epoch.</param>
public sealed record ExchangeTicket(string Cohort, string Run, string Peer, ulong Generation, long ExpiresUnixMs)
{
    /// <summary>The gRPC metadata key that carries the ticket on PeerExchange calls.</summary>
    public const string Header = "peerdistill-ticket";

    /// <summary>
    /// How long a ticket is valid from its issue: several hours, so that a run's streams never
    /// depend on a coordinator that is briefly away; a peer gets a fresh one from its cohort once
    /// less than <see cref="RenewWithin"/> is left.
    /// </summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(6);

    /// <summary>A peer whose ticket has less than this left gets a fresh one with its cohort's next reply.</summary>
    public static readonly TimeSpan RenewWithin = TimeSpan.FromHours(3);

    /// <summary>The longest name (cohort, run or peer) a ticket carries, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 128;

    /// <summary>The ticket of that generation of a peer, valid for <see cref="Lifetime"/> from <paramref name="now"/>.</summary>
    public static ExchangeTicket For(string cohort, string run, string peer, ulong generation, DateTimeOffset now) =>
        new(cohort, run, peer, generation, (now + Lifetime).ToUnixTimeMilliseconds());

    /// <summary>For messages: whose ticket this is (never the ticket's text, which is a credential).</summary>
    public override string ToString() => $"ticket of '{Peer}' generation {Generation}, cohort '{Cohort}' run '{Run}'";
}
