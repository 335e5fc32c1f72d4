using Microsoft.Extensions.Logging;
using PeerDistill.Rpc;
using PeerDistill.Rpc.Services;
using PeerDistill.Rpc.V1;

namespace PeerDistill.Worker.Exchange;

/// <summary>
/// The worker's <c>peerdistill.v1.PeerExchange</c> service: every frame on an Exchange stream goes
/// to the hub of its cohort run and is answered by one acknowledgement. A frame of a superseded
/// generation ends the stream with FailedPrecondition (that incarnation of the sender is over);
/// other refusals are answered in the ack (accepted = false, refused_code) and the stream goes on.
/// </summary>
public static class PeerExchangeService
{
    public static ServerServiceDefinition Create(ExchangeRegistry registry, ILogger logger) => ServerServiceDefinition.CreateBuilder()
        .AddMethod(PeerExchangeMethods.Exchange, (frames, acks, context) => ExchangeAsync(registry, logger, frames, acks, context))
        .AddMethod(PeerExchangeMethods.Probe, (request, _) => Task.FromResult(Probe(registry, request)))
        .Build();

    private static async Task ExchangeAsync(ExchangeRegistry registry, ILogger logger, IAsyncStreamReader<LogitsFrame> frames, IServerStreamWriter<ExchangeAck> acks, ServerCallContext context)
    {
        // The hub believes a stream that has carried a sender's frames in sequence: this call is one stream.
        var stream = new object();
        while (await frames.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var frame = frames.Current;
            var hub = registry.Find(frame.Cohort, frame.Run);
            FrameVerdict verdict;
            if (hub is null)
            {
                verdict = new FrameVerdict(false, StatusCode.NotFound, $"frame from '{frame.Sender}' is for cohort '{frame.Cohort}' run '{frame.Run}', which this worker does not host", -1);
                Log.FrameRefused(logger, frame.Sender, frame.Receiver, frame.Step, verdict.Code, verdict.Reason);
            }
            else
            {
                verdict = hub.Deliver(frame, stream);
            }

            if (verdict.Code == StatusCode.FailedPrecondition)
            {
                throw new RpcException(StatusCode.FailedPrecondition, verdict.Reason);
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

    private static ProbeReply Probe(ExchangeRegistry registry, ProbeRequest request)
    {
        var reply = new ProbeReply();
        foreach (var hub in registry.All().Where(h => string.IsNullOrEmpty(request.Cohort) || h.Settings.Cohort == request.Cohort))
        {
            reply.Peers.AddRange(hub.Hosted());
        }

        return reply;
    }
}
