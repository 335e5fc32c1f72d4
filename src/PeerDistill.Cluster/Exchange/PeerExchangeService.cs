using Grpc.Core;
using Microsoft.Extensions.Logging;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// The worker's <c>peerdistill.v1.PeerExchange</c> service: every frame on an Exchange stream goes
/// to the hub of its cohort run and is answered by one acknowledgement. A frame of a superseded
/// generation ends the stream with FailedPrecondition (that incarnation of the sender is over);
/// other refusals are answered in the ack (accepted = false, refused_code) and the stream goes on.
/// </summary>
public sealed class PeerExchangeService(ExchangeRegistry registry, ILogger logger) : PeerExchange.PeerExchangeBase
{
    public override Task Exchange(IAsyncStreamReader<LogitsFrame> requestStream, IServerStreamWriter<ExchangeAck> responseStream, ServerCallContext context) =>
        ExchangeAsync(registry, logger, requestStream, responseStream, context);

    public override Task<ProbeReply> Probe(ProbeRequest request, ServerCallContext context) => Task.FromResult(Hosted(registry, request));

    private static async Task ExchangeAsync(ExchangeRegistry registry, ILogger logger, IAsyncStreamReader<LogitsFrame> frames, IServerStreamWriter<ExchangeAck> acks, ServerCallContext context)
    {
        // The hub believes a stream that has carried a sender's frames in sequence: this call is one stream.
        var stream = new object();
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, registry.Closing);
        while (await NextAsync(frames, registry, ends.Token).ConfigureAwait(false))
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

    /// <summary>The next frame of the stream; UNAVAILABLE once this worker stops (the sender reconnects to wherever its receiver goes).</summary>
    private static async Task<bool> NextAsync(IAsyncStreamReader<LogitsFrame> frames, ExchangeRegistry registry, CancellationToken cancellation)
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

    private static ProbeReply Hosted(ExchangeRegistry registry, ProbeRequest request)
    {
        var reply = new ProbeReply();
        foreach (var hub in registry.All().Where(h => string.IsNullOrEmpty(request.Cohort) || h.Settings.Cohort == request.Cohort))
        {
            reply.Peers.AddRange(hub.Hosted());
        }

        return reply;
    }
}
