namespace PeerDistill.Cluster.Exchange;

/// <summary>What <see cref="TicketCodec.Check"/> made of a ticket: the ticket, or why it is refused.</summary>
/// <param name="Ticket">The verified ticket; null when refused.</param>
/// <param name="Refusal">Why it is refused; null when verified.</param>
/// <param name="Detail">For the caller and the log: what was wrong (never the key, never the ticket's text).</param>
public readonly record struct TicketCheck(ExchangeTicket? Ticket, TicketRefusal? Refusal, string Detail)
{
    public static TicketCheck Valid(ExchangeTicket ticket) => new(ticket, null, string.Empty);

    public static TicketCheck Refused(TicketRefusal refusal, string detail) => new(null, refusal, detail);
}
