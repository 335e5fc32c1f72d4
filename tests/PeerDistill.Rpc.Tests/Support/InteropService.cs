using Google.Protobuf;
using PeerDistill.Rpc.Services;
using PeerDistill.Rpc.Testing.V1;
using PeerDistill.Rpc.V1;

namespace PeerDistill.Rpc.Tests.Support;

/// <summary>
/// The C# side of the interop service, with the semantics written in interop.proto (the same as
/// interop/interop_server.py), and a reference PeerExchange receiver that acknowledges frames.
/// </summary>
internal static class InteropService
{
    private const int ClientStreamLimit = 1024 * 1024;
    private const string EchoPrefix = "x-echo-";
    private const string TrailerPrefix = "x-trailer-";

    /// <summary>How many Bidi calls saw their cancellation token fire (for cancellation tests).</summary>
    public static int CancelledCalls;

    public static ServerServiceDefinition Create() => ServerServiceDefinition.CreateBuilder()
        .AddMethod(InteropMethods.Unary, UnaryAsync)
        .AddMethod(InteropMethods.ServerStream, ServerStreamAsync)
        .AddMethod(InteropMethods.ClientStream, ClientStreamAsync)
        .AddMethod(InteropMethods.Bidi, BidiAsync)
        .Build();

    public static ServerServiceDefinition CreateExchange() => ServerServiceDefinition.CreateBuilder()
        .AddMethod(PeerExchangeMethods.Exchange, ExchangeAsync)
        .AddMethod(PeerExchangeMethods.Probe, (ProbeRequest _, ServerCallContext _) => Task.FromResult(new ProbeReply()))
        .Build();

    private static async Task<EchoReply> UnaryAsync(EchoRequest request, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        await Task.Delay(request.DelayMs, context.CancellationToken);
        Fail(request);
        return new EchoReply { Payload = ReplyPayload(request) };
    }

    private static async Task ServerStreamAsync(EchoRequest request, IServerStreamWriter<EchoReply> responses, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        var payload = ReplyPayload(request);
        for (var i = 0; i < request.Count; i++)
        {
            await Task.Delay(request.DelayMs, context.CancellationToken);
            await responses.WriteAsync(new EchoReply { Payload = payload, Sequence = i });
        }

        Fail(request);
    }

    private static async Task<EchoReply> ClientStreamAsync(IAsyncStreamReader<EchoRequest> requests, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        var received = 0;
        var buffer = new MemoryStream();
        EchoRequest? last = null;
        while (await requests.MoveNext(context.CancellationToken))
        {
            var request = requests.Current;
            Fail(request);
            received++;
            last = request;
            var take = (int)Math.Min(request.Payload.Length, ClientStreamLimit - buffer.Length);
            buffer.Write(request.Payload.Span[..take]);
        }

        if (last is not null)
        {
            await Task.Delay(last.DelayMs, context.CancellationToken);
        }

        return new EchoReply { Payload = ByteString.CopyFrom(buffer.ToArray()), Received = received };
    }

    private static async Task BidiAsync(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoReply> responses, ServerCallContext context)
    {
        using var registration = context.CancellationToken.Register(() => Interlocked.Increment(ref CancelledCalls));
        await EchoMetadataAsync(context);
        var index = 0;
        while (await requests.MoveNext(context.CancellationToken))
        {
            var request = requests.Current;
            await Task.Delay(request.DelayMs, context.CancellationToken);
            Fail(request);
            await responses.WriteAsync(new EchoReply { Payload = ReplyPayload(request), Sequence = index, Received = index });
            index++;
        }
    }

    private static async Task ExchangeAsync(IAsyncStreamReader<LogitsFrame> frames, IServerStreamWriter<ExchangeAck> acks, ServerCallContext context)
    {
        long highest = -1;
        while (await frames.MoveNext(context.CancellationToken))
        {
            var frame = frames.Current;
            var size = frame.Dtype switch { WireDType.Fp32 => 4, WireDType.Fp16 => 2, _ => 0 };
            var expected = frame.Shape.Count == 2 ? frame.Shape[0] * frame.Shape[1] * size : -1;
            if (size > 0 && expected >= 0 && frame.Values.Length == expected)
            {
                highest = Math.Max(highest, frame.Step);
                await acks.WriteAsync(new ExchangeAck { Step = frame.Step, Credit = 64, Accepted = true });
            }
            else
            {
                await acks.WriteAsync(new ExchangeAck
                {
                    Step = highest,
                    Credit = 64,
                    Accepted = false,
                    RefusedCode = (int)StatusCode.InvalidArgument,
                    Reason = $"frame of step {frame.Step} has {frame.Values.Length} bytes of values, expected {expected}",
                });
            }
        }
    }

    private static void Fail(EchoRequest request)
    {
        if (request.StatusCode != 0)
        {
            throw new RpcException((StatusCode)request.StatusCode, request.StatusMessage);
        }
    }

    private static ByteString ReplyPayload(EchoRequest request) =>
        request.ReplySize > 0 ? ByteString.CopyFrom(Enumerable.Repeat((byte)0x5A, request.ReplySize).ToArray()) : request.Payload;

    private static async Task EchoMetadataAsync(ServerCallContext context)
    {
        var echoed = new Metadata();
        foreach (var entry in context.RequestHeaders.Where(e => e.Key.StartsWith(EchoPrefix, StringComparison.Ordinal)))
        {
            echoed.Add(entry);
            var trailerKey = TrailerPrefix + entry.Key[EchoPrefix.Length..];
            context.ResponseTrailers.Add(entry.IsBinary ? new Metadata.Entry(trailerKey, entry.ValueBytes) : new Metadata.Entry(trailerKey, entry.Value));
        }

        if (echoed.Count > 0)
        {
            await context.WriteResponseHeadersAsync(echoed);
        }
    }
}
