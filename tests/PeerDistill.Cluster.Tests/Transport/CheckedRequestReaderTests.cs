using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Net.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerDistill.Cluster.Transport.Internal;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Cluster.Tests.Grpc;

/// <summary>
/// The framing checks on a request body arriving in pieces of every size (1 byte to all at once,
/// headers split across reads and segments), read the way Grpc.AspNetCore reads a request stream:
/// good bytes come through unchanged and whole, bad bytes are refused after the good messages
/// before them, with their status.
/// </summary>
public sealed class CheckedRequestReaderTests
{
    private const int Limit = 64;

    private static readonly Method<byte[], byte[]> Stream = Raw(MethodType.DuplexStreaming, "Stream");
    private static readonly Method<byte[], byte[]> Unary = Raw(MethodType.Unary, "Submit");

    /// <summary>How many bytes arrive at a time: a header split anywhere, a message split anywhere, everything at once.</summary>
    private static readonly int[] ChunkSizes = [1, 2, 3, 4, 5, 6, 7, 11, 64, 100_000];

    public static TheoryData<int> Chunks => new(ChunkSizes);

    [Theory]
    [MemberData(nameof(Chunks))]
    public async Task ValidStream_InPiecesOfAnySize_EveryMessageThroughWhole(int chunk)
    {
        byte[][] messages = [[], [1], [1, 2, 3, 4], [1, 2, 3, 4, 5], Filled(6), Filled(Limit - 1), Filled(Limit), [], Filled(Limit)];
        var (read, refusal) = await ReadAsync(Stream, null, messages.SelectMany(m => Frame(0, m)).ToArray(), chunk);
        Assert.Null(refusal);
        Assert.Equal(messages, read);
    }

    [Theory]
    [MemberData(nameof(Chunks))]
    public async Task ValidUnary_InPiecesOfAnySize_ItsMessageThrough(int chunk)
    {
        var message = new SubmitCohortRequest { SpecText = "cohort: x", SpecFormat = "yaml" }.ToByteArray();
        var (read, refusal) = await ReadAsync(Unary, SubmitCohortRequest.Descriptor, Frame(0, message), chunk);
        Assert.Null(refusal);
        Assert.Equal(message, Assert.Single(read));
    }

    [Theory]
    [InlineData("flag-2", StatusCode.Internal, "compressed flag 2")]
    [InlineData("flag-255", StatusCode.Internal, "compressed flag 255")]
    [InlineData("length-over-limit", StatusCode.ResourceExhausted, "request message of 65 bytes exceeds the 64-byte limit")]
    [InlineData("length-4GiB", StatusCode.ResourceExhausted, "request message of 4294967295 bytes exceeds the 64-byte limit")]
    [InlineData("flag-1-no-encoding", StatusCode.Internal, "names no grpc-encoding")]
    [InlineData("cut-in-the-message", StatusCode.Internal, "request ended inside a message: 3 of its 10 bytes arrived")]
    [InlineData("cut-in-the-header", StatusCode.Internal, "request ended inside a message header: 2 of its 5 bytes arrived")]
    public async Task BadBytesOnAStream_MessagesBeforeThemThrough_ThenRefused(string @case, StatusCode code, string detail)
    {
        byte[][] good = [Filled(10), [], Filled(Limit)];
        byte[] bad = @case switch
        {
            "flag-2" => Frame(2, [1]),
            "flag-255" => Frame(255, [1]),
            "length-over-limit" => Frame(0, Filled(Limit + 1)),
            "length-4GiB" => [0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2],
            "flag-1-no-encoding" => Frame(1, [1]),
            "cut-in-the-message" => [.. Frame(0, Filled(10))[..8]],
            "cut-in-the-header" => [0, 0],
            _ => throw new ArgumentOutOfRangeException(nameof(@case), @case, null),
        };
        foreach (var chunk in ChunkSizes)
        {
            var (read, refusal) = await ReadAsync(Stream, null, [.. good.SelectMany(m => Frame(0, m)), .. bad, .. Frame(0, [9])], chunk, truncate: @case.StartsWith("cut-", StringComparison.Ordinal));
            Assert.Equal(good, read);
            Assert.NotNull(refusal);
            Assert.Equal(code, refusal.StatusCode);
            Assert.Contains(detail, refusal.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("none", "request carried no message; Submit takes exactly one")]
    [InlineData("two", "request carried more than one message; Submit takes exactly one")]
    [InlineData("one-and-a-byte", "request carried more than one message; Submit takes exactly one")]
    [InlineData("not-the-message", "request message is not a peerdistill.v1.SubmitCohortRequest: ")]
    [InlineData("gzip-not-the-message", "request message is not a peerdistill.v1.SubmitCohortRequest: ")]
    public async Task BadSingleRequest_RefusedBeforeTheHandlerHasIt(string @case, string detail)
    {
        var message = new SubmitCohortRequest { SpecText = "cohort: x" }.ToByteArray();
        byte[] garbage = [0x0A, 0x64, 0x61, 0x62];
        var (body, encoding) = @case switch
        {
            "none" => ([], null),
            "two" => ([.. Frame(0, message), .. Frame(0, message)], null),
            "one-and-a-byte" => ([.. Frame(0, message), 0], null),
            "not-the-message" => (Frame(0, garbage), null),
            "gzip-not-the-message" => (Frame(1, Gzip(garbage)), "gzip"),
            _ => ((byte[])[], (string?)null),
        };
        foreach (var chunk in ChunkSizes)
        {
            // (Grpc.AspNetCore calls the handler only once the body has ended: a message read before the refusal goes nowhere.)
            var (_, refusal) = await ReadAsync(Unary, SubmitCohortRequest.Descriptor, body, chunk, encoding: encoding);
            Assert.NotNull(refusal);
            Assert.Equal(StatusCode.Internal, refusal.StatusCode);
            Assert.Contains(detail, refusal.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Chunks))]
    public async Task Gzip_WithinTheLimitThrough_BeyondItRefused_CorruptRefused(int chunk)
    {
        // Zeros: a few bytes compressed, within the limit on the wire.
        var within = Gzip(new byte[Limit]);
        var (read, refusal) = await ReadAsync(Stream, null, Frame(1, within), chunk, encoding: "gzip");
        Assert.Null(refusal);
        Assert.Equal(within, Assert.Single(read));

        (read, refusal) = await ReadAsync(Stream, null, [.. Frame(1, within), .. Frame(1, Gzip(new byte[Limit + 1]))], chunk, encoding: "gzip");
        Assert.Single(read);
        Assert.Equal(StatusCode.ResourceExhausted, refusal?.StatusCode);
        Assert.Equal("request message decompresses (gzip) to more than the 64-byte limit", refusal?.Status.Detail);

        (read, refusal) = await ReadAsync(Stream, null, Frame(1, [1, 2, 3]), chunk, encoding: "gzip");
        Assert.Empty(read);
        Assert.Equal(StatusCode.Internal, refusal?.StatusCode);
        Assert.Equal("request message is compressed (flag 1) but is not gzip data", refusal?.Status.Detail);

        // An encoding the server lacks is not looked into: Grpc.AspNetCore answers it (UNIMPLEMENTED).
        (read, refusal) = await ReadAsync(Stream, null, Frame(1, [1, 2, 3]), chunk, encoding: "snappy");
        Assert.Null(refusal);
        Assert.Single(read);
    }

    /// <summary>Reads every message through the checks, as Grpc.AspNetCore reads a request stream, until the end or a refusal.</summary>
    private static async Task<(List<byte[]> Messages, RpcException? Refusal)> ReadAsync(Method<byte[], byte[]> method, Google.Protobuf.Reflection.MessageDescriptor? message, byte[] body, int chunk, bool truncate = false, string? encoding = null)
    {
        var rules = new MalformedRequestMiddleware(
            _ => Task.CompletedTask,
            new RequestMessages(),
            Options.Create(new GrpcServiceOptions { MaxReceiveMessageSize = Limit, CompressionProviders = [new GzipCompressionProvider(CompressionLevel.Fastest)] }),
            NullLogger<MalformedRequestMiddleware>.Instance);
        // A truncated case's body ends with the bytes that are cut: drop the valid frame the others end with.
        var reader = new CheckedRequestReader(new ChunkedReader(truncate ? body[..^6] : body, chunk), rules, method, message, encoding);
        var messages = new List<byte[]>();
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                if (buffer.Length >= MalformedRequest.HeaderSize)
                {
                    var length = BinaryPrimitives.ReadUInt32BigEndian(buffer.Slice(1, 4).ToArray());
                    if (buffer.Length >= MalformedRequest.HeaderSize + length)
                    {
                        messages.Add(buffer.Slice(MalformedRequest.HeaderSize, length).ToArray());
                        reader.AdvanceTo(buffer.GetPosition(MalformedRequest.HeaderSize + length));
                        continue;
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    Assert.True(buffer.IsEmpty, $"{buffer.Length} bytes left over");
                    return (messages, null);
                }
            }
        }
        catch (RpcException e)
        {
            return (messages, e);
        }
    }

    private static byte[] Frame(byte flag, byte[] payload)
    {
        var frame = new byte[MalformedRequest.HeaderSize + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, MalformedRequest.HeaderSize);
        return frame;
    }

    private static byte[] Filled(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 7))];

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    private static Method<byte[], byte[]> Raw(MethodType type, string name)
    {
        var bytes = Marshallers.Create(b => b, b => b);
        return new Method<byte[], byte[]>(type, "test.Service", name, bytes, bytes);
    }

    /// <summary>
    /// A request body that arrives <c>chunk</c> bytes at a time, each piece its own segment (so a
    /// header can straddle two): a read shows one more piece once the reader has examined all it had.
    /// </summary>
    private sealed class ChunkedReader(byte[] body, int chunk) : PipeReader
    {
        private long _consumed;
        private long _examined;
        private long _arrived;
        private ReadOnlySequence<byte> _returned;

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            if (_examined >= _arrived && _arrived < body.Length)
            {
                _arrived = Math.Min(body.Length, _arrived + chunk);
            }

            _returned = Segments(_consumed, _arrived);
            return ValueTask.FromResult(new ReadResult(_returned, isCanceled: false, isCompleted: _arrived == body.Length));
        }

        public override bool TryRead(out ReadResult result)
        {
            result = ReadAsync().Result;
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            var start = _consumed;
            _consumed = start + _returned.Slice(_returned.Start, consumed).Length;
            _examined = Math.Max(_examined, start + _returned.Slice(_returned.Start, examined).Length);
        }

        public override void CancelPendingRead()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }

        private ReadOnlySequence<byte> Segments(long from, long to)
        {
            if (from == to)
            {
                return ReadOnlySequence<byte>.Empty;
            }

            Segment? first = null, last = null;
            for (var at = from; at < to;)
            {
                var end = Math.Min(to, ((at / chunk) + 1) * chunk);
                var segment = new Segment(body.AsMemory((int)at, (int)(end - at)), last);
                first ??= segment;
                last = segment;
                at = end;
            }

            return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
