using System.Net;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// The worker's <c>peerdistill.v1.PeerExchange</c> service. Every Exchange stream must carry an
/// exchange ticket (metadata <see cref="ExchangeTicket.Header"/>, issued by the cohort grain to the
/// sending peer's activation and signed with the cluster's key); it is checked before any frame is
/// read, and every frame must match it. Refusals for the ticket end the stream, each with its own
/// status (and <see cref="TicketRefusal"/> in <see cref="ExchangeRegistry.Refusals"/>), logged once
/// per stream:
/// <list type="bullet">
/// <item>no ticket: UNAUTHENTICATED ("carries no exchange ticket");</item>
/// <item>malformed (too long, not base64url, truncated, trailing bytes, another version, two headers): UNAUTHENTICATED ("malformed");</item>
/// <item>forged or altered (the signature does not verify): UNAUTHENTICATED ("signature does not verify");</item>
/// <item>expired (at the start, or while the stream is open): UNAUTHENTICATED ("expired");</item>
/// <item>a valid ticket of another cohort or run than the stream's frames: PERMISSION_DENIED;</item>
/// <item>a frame whose sender or generation differs from the ticket's: PERMISSION_DENIED;</item>
/// <item>a ticket of a generation older than the one the cohort runs now: FAILED_PRECONDITION (as a
/// frame of a superseded generation: that incarnation is over);</item>
/// <item>this worker does not hold the cluster's key yet (it hosts no peer yet): UNAVAILABLE.</item>
/// </list>
/// Every accepted frame goes to the hub of its cohort run and is answered by one acknowledgement; a
/// frame of a superseded generation ends the stream with FAILED_PRECONDITION (that incarnation of the
/// sender is over); other refusals are answered in the ack (accepted = false, refused_code) and the
/// stream goes on. A refused stream changes nothing in any hub.
/// Probe answers callers on loopback as it always did; any other caller must present a valid ticket
/// (refused as above) and hears only of its ticket's run.
/// Only the distributed bench's baseline serves Exchange streams without tickets
/// (<see cref="ExchangeRegistry.TicketsOff"/>, not a setting).
/// </summary>
public sealed partial class PeerExchangeService(ExchangeRegistry registry, ILogger logger, TimeProvider time) : PeerExchange.PeerExchangeBase
{
    public PeerExchangeService(ExchangeRegistry registry, ILogger logger)
        : this(registry, logger, TimeProvider.System)
    {
    }

    public override async Task Exchange(IAsyncStreamReader<LogitsFrame> requestStream, IServerStreamWriter<ExchangeAck> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        if (registry.TicketsOff)
        {
            await ExchangeAsync(null, requestStream, responseStream, context).ConfigureAwait(false);
            return;
        }

        var ticket = Admit(context, "Exchange");
        if (registry.Find(ticket.Cohort, ticket.Run)?.Directory.Find(ticket.Peer) is { } location && location.Generation > ticket.Generation)
        {
            throw Refuse(context, TicketRefusal.OlderGeneration, $"the {ticket} is superseded: the cohort runs generation {location.Generation} of '{ticket.Peer}'");
        }

        await ExchangeAsync(ticket, requestStream, responseStream, context).ConfigureAwait(false);
    }

    public override Task<ProbeReply> Probe(ProbeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (IsLoopback(context))
        {
            return Task.FromResult(Hosted(request.Cohort, run: null));
        }

        var ticket = Admit(context, "Probe");
        if (request.Cohort.Length > 0 && request.Cohort != ticket.Cohort)
        {
            throw Refuse(context, TicketRefusal.OtherCohort, $"the {ticket} does not grant a probe of another cohort");
        }

        return Task.FromResult(Hosted(ticket.Cohort, ticket.Run));
    }

    /// <summary>Whether the caller connects from this machine (its own processes are trusted with Probe and reflection).</summary>
    internal static bool IsLoopback(ServerCallContext context) =>
        context.GetHttpContext().Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address);

    /// <summary>The status a refusal for a ticket is answered with.</summary>
    public static StatusCode StatusOf(TicketRefusal refusal) => refusal switch
    {
        TicketRefusal.OtherCohort or TicketRefusal.FrameMismatch => StatusCode.PermissionDenied,
        TicketRefusal.OlderGeneration => StatusCode.FailedPrecondition,
        TicketRefusal.NoKey => StatusCode.Unavailable,
        _ => StatusCode.Unauthenticated,
    };

    /// <summary>The call's verified ticket, or the refusal thrown (counted and logged).</summary>
    private ExchangeTicket Admit(ServerCallContext context, string call)
    {
        var headers = context.RequestHeaders.Where(h => h.Key == ExchangeTicket.Header).ToList();
        if (headers.Count > 1)
        {
            throw Refuse(context, TicketRefusal.Malformed, $"the {call} call carries {headers.Count} exchange tickets; one is allowed");
        }

        if (headers.Count == 1 && headers[0].IsBinary)
        {
            throw Refuse(context, TicketRefusal.Malformed, "the exchange ticket is malformed: a binary header");
        }

        if (registry.Tickets.Codec is not { } codec)
        {
            throw Refuse(context, TicketRefusal.NoKey, "this worker hosts no peer yet and cannot check exchange tickets; try again");
        }

        var check = codec.Check(headers.Count == 0 ? null : headers[0].Value, time.GetUtcNow().ToUnixTimeMilliseconds());
        return check.Ticket ?? throw Refuse(context, check.Refusal!.Value, check.Detail);
    }

    /// <summary>Takes the stream's frames; each must match <paramref name="ticket"/> (null only for the distributed bench's baseline, <see cref="ExchangeRegistry.TicketsOff"/>).</summary>
    private async Task ExchangeAsync(ExchangeTicket? ticket, IAsyncStreamReader<LogitsFrame> frames, IServerStreamWriter<ExchangeAck> acks, ServerCallContext context)
    {
        // The hub believes a stream that has carried a sender's frames in sequence: this call is one stream.
        var stream = new object();
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, registry.Closing);
        while (await NextAsync(frames, ends.Token).ConfigureAwait(false))
        {
            var frame = frames.Current;
            if (ticket is not null)
            {
                HoldToTicket(ticket, frame, context);
            }

            var hub = registry.Find(frame.Cohort, frame.Run);
            FrameVerdict verdict;
            if (hub is null)
            {
                verdict = new FrameVerdict(false, StatusCode.NotFound, $"frame from '{frame.Sender}' is for cohort '{frame.Cohort}' run '{frame.Run}', which this worker does not host", -1);
                Log.FrameRefused(logger, frame.Sender, frame.Receiver, frame.Step, verdict.Code, verdict.Reason);
                ExchangeTelemetry.Refused(ExchangeTelemetry.FramesRefused, verdict.Code);
            }
            else
            {
                verdict = hub.Deliver(frame, stream);
                ExchangeTelemetry.Received(frame, verdict.Accepted ? StatusCode.OK : verdict.Code);
            }

            if (verdict.Code == StatusCode.FailedPrecondition)
            {
                // The frame's generation is its ticket's: that ticket is of a superseded generation.
                registry.Refusals.Record(TicketRefusal.OlderGeneration);
                throw new RpcException(new Status(StatusCode.FailedPrecondition, verdict.Reason));
            }

            await acks.WriteAsync(new ExchangeAck
            {
                Step = verdict.HighestStep,
                Credit = verdict.Credit,
                Accepted = verdict.Accepted,
                Reason = verdict.Reason,
                RefusedCode = (int)verdict.Code,
                Stale = verdict.Behind,
            }, context.CancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Refuses a frame that is not of its stream's ticket's cohort run, sender and generation, or that comes after the ticket's expiry.</summary>
    private void HoldToTicket(ExchangeTicket ticket, LogitsFrame frame, ServerCallContext context)
    {
        if (frame.Cohort != ticket.Cohort || frame.Run != ticket.Run)
        {
            throw Refuse(context, TicketRefusal.OtherCohort, $"a frame for cohort '{Quote(frame.Cohort)}' run '{Quote(frame.Run)}' came with the {ticket}");
        }

        if (frame.Sender != ticket.Peer || frame.Generation != ticket.Generation)
        {
            throw Refuse(context, TicketRefusal.FrameMismatch, $"a frame from '{Quote(frame.Sender)}' generation {frame.Generation} came with the {ticket}");
        }

        if (time.GetUtcNow().ToUnixTimeMilliseconds() >= ticket.ExpiresUnixMs)
        {
            throw Refuse(context, TicketRefusal.Expired, $"the {ticket} expired while its stream was open");
        }
    }

    /// <summary>Counts and logs (throttled) one refusal; the exception that ends the call with its status.</summary>
    private RpcException Refuse(ServerCallContext context, TicketRefusal refusal, string detail)
    {
        var (log, count, unlogged) = registry.Refusals.Record(refusal);
        ExchangeTelemetry.Refused(ExchangeTelemetry.StreamsRefused, StatusOf(refusal));
        if (log)
        {
            LogRefused(logger, context.Method, Quote(context.Peer, 64), StatusOf(refusal), refusal, detail, count, unlogged);
        }

        return new RpcException(new Status(StatusOf(refusal), detail));
    }

    /// <summary>The next frame of the stream; UNAVAILABLE once this worker stops (the sender reconnects to wherever its receiver goes).</summary>
    private async Task<bool> NextAsync(IAsyncStreamReader<LogitsFrame> frames, CancellationToken cancellation)
    {
        try
        {
            return await frames.MoveNext(cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (registry.Closing.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "this worker is stopping"));
        }
    }

    /// <summary>The peers hosted here of <paramref name="cohort"/> (every cohort when empty), of <paramref name="run"/> only when given.</summary>
    private ProbeReply Hosted(string cohort, string? run)
    {
        var reply = new ProbeReply();
        foreach (var hub in registry.All().Where(h => (string.IsNullOrEmpty(cohort) || h.Settings.Cohort == cohort) && (run is null || h.Settings.Run == run)))
        {
            reply.Peers.AddRange(hub.Hosted());
        }

        return reply;
    }

    /// <summary>A caller-supplied name, cut and escaped for one message.</summary>
    private static string Quote(string value, int max = 80)
    {
        var text = value.Length > max ? value[..max] + "..." : value;
        return text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }
}
