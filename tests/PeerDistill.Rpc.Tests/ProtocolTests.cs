using System.Buffers.Binary;
using System.Text;
using PeerDistill.Rpc.Internal;
using Xunit;

namespace PeerDistill.Rpc.Tests;

/// <summary>Unit tests of the wire encodings (Internal/GrpcProtocol.cs) and of the message framing (Internal/MessageFraming.cs).</summary>
public sealed class ProtocolTests
{
    // ---- grpc-timeout -------------------------------------------------------------------------

    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("4m", 40_000L)]
    [InlineData("5u", 50L)]
    [InlineData("300000u", 3_000_000L)]
    [InlineData("700n", 7L)]
    [InlineData("0S", 0L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void TryParseTimeout_EveryUnit_GivesExactDuration(string value, long expectedTicks)
    {
        Assert.True(GrpcProtocol.TryParseTimeout(value, out var timeout));
        Assert.Equal(TimeSpan.FromTicks(expectedTicks), timeout);
    }

    [Fact]
    public void TryParseTimeout_Nanoseconds_RoundUpToWholeTicks()
    {
        // 1 tick is 100 ns: a deadline is never made shorter than asked.
        Assert.True(GrpcProtocol.TryParseTimeout("150n", out var timeout));
        Assert.Equal(TimeSpan.FromTicks(2), timeout);
    }

    [Fact]
    public void TryParseTimeout_LargestHours_DoesNotOverflow()
    {
        Assert.True(GrpcProtocol.TryParseTimeout("99999999H", out var timeout));
        Assert.Equal(TimeSpan.FromHours(99_999_999), timeout);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("100")]
    [InlineData("123456789S")]
    [InlineData("1234567890m")]
    [InlineData("10x")]
    [InlineData("10s")]
    [InlineData("10h")]
    [InlineData("-1S")]
    [InlineData("+1S")]
    [InlineData(" 1S")]
    [InlineData("1 S")]
    [InlineData("1.5S")]
    [InlineData("１S")]
    public void TryParseTimeout_Malformed_IsRejected(string? value)
    {
        Assert.False(GrpcProtocol.TryParseTimeout(value, out _));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(10L)]
    [InlineData(3_000_000L)] // 300 ms
    [InlineData(999_999_999L)] // just under 100 s: still microseconds
    [InlineData(1_000_000_000L)] // 100 s: milliseconds
    [InlineData(864_000_000_000L)] // 1 day
    [InlineData(3_155_760_000_000_000L)] // 10 years: seconds
    public void FormatTimeout_ParsesBackToAtLeastTheTimeout(long ticks)
    {
        var timeout = TimeSpan.FromTicks(ticks);
        var text = GrpcProtocol.FormatTimeout(timeout);
        Assert.InRange(text.Length, 2, 9); // at most 8 digits and a unit
        Assert.True(GrpcProtocol.TryParseTimeout(text, out var parsed), text);
        Assert.True(parsed >= timeout, $"{text} -> {parsed} is shorter than {timeout}");
        // Rounding up costs at most one unit of the chosen precision (and 0.1% above 100 s).
        var slack = ticks < 1_000_000_000L ? TimeSpan.FromTicks(10) : TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, ticks / 1000));
        Assert.True(parsed - timeout <= slack, $"{text} -> {parsed} is much longer than {timeout}");
    }

    [Fact]
    public void FormatTimeout_HugeTimeout_IsCappedAtEightDigitsOfHours()
    {
        var text = GrpcProtocol.FormatTimeout(TimeSpan.MaxValue);
        Assert.Equal("99999999H", text);
        Assert.True(GrpcProtocol.TryParseTimeout(text, out _));
    }

    [Fact]
    public void FormatTimeout_Negative_IsZero()
    {
        Assert.Equal("0u", GrpcProtocol.FormatTimeout(TimeSpan.FromSeconds(-5)));
    }

    // ---- grpc-message percent-encoding ---------------------------------------------------------

    [Theory]
    [InlineData("")]
    [InlineData("plain ASCII message, with punctuation: !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~")]
    public void EncodeMessage_PrintableAscii_IsUntouched(string message)
    {
        Assert.Same(message, GrpcProtocol.EncodeMessage(message));
        Assert.Equal(message, GrpcProtocol.DecodeMessage(message));
    }

    [Fact]
    public void EncodeMessage_PercentAndNonAscii_ArePercentEncodedUtf8()
    {
        Assert.Equal("100%25", GrpcProtocol.EncodeMessage("100%"));
        Assert.Equal("caf%C3%A9", GrpcProtocol.EncodeMessage("café"));
        Assert.Equal("a%0Ab%09c", GrpcProtocol.EncodeMessage("a\nb\tc"));
        Assert.Equal("%E2%9C%93 %F0%9F%98%80", GrpcProtocol.EncodeMessage("✓ 😀"));
        Assert.Equal("x%7F", GrpcProtocol.EncodeMessage("x\u007F"));
    }

    [Theory]
    [InlineData("peer 'a' is at step 7 — not ready ✓ 100%")]
    [InlineData("日本語のメッセージ")]
    [InlineData("%%%25%")]
    [InlineData("line1\r\nline2")]
    public void EncodeMessage_DecodeMessage_RoundTrip(string message)
    {
        var encoded = GrpcProtocol.EncodeMessage(message);
        Assert.All(encoded, c => Assert.InRange(c, (char)0x20, (char)0x7E));
        Assert.Equal(message, GrpcProtocol.DecodeMessage(encoded));
    }

    [Theory]
    [InlineData("%", "%")]
    [InlineData("50%", "50%")]
    [InlineData("%4", "%4")]
    [InlineData("a%zzb", "a%zzb")]
    [InlineData("%G1", "%G1")]
    [InlineData("%41%4", "A%4")]
    [InlineData("%41", "A")]
    [InlineData("%e2%9c%93", "✓")]
    public void DecodeMessage_MalformedEscapes_AreKeptAsTheyAre(string value, string expected)
    {
        Assert.Equal(expected, GrpcProtocol.DecodeMessage(value));
    }

    [Fact]
    public void DecodeMessage_InvalidUtf8_DoesNotThrow()
    {
        Assert.Equal("a\uFFFDb", GrpcProtocol.DecodeMessage("a%FFb"));
        Assert.Equal(string.Empty, GrpcProtocol.DecodeMessage(null));
    }

    // ---- binary metadata ------------------------------------------------------------------------

    [Fact]
    public void EncodeBinary_IsPaddedBase64()
    {
        Assert.Equal("AQ==", GrpcProtocol.EncodeBinary([1]));
        Assert.Equal("AQI=", GrpcProtocol.EncodeBinary([1, 2]));
        Assert.Equal("AQID", GrpcProtocol.EncodeBinary([1, 2, 3]));
        Assert.Equal(string.Empty, GrpcProtocol.EncodeBinary([]));
    }

    [Theory]
    [InlineData("AQ==", new byte[] { 1 })]
    [InlineData("AQ", new byte[] { 1 })]
    [InlineData("AQI=", new byte[] { 1, 2 })]
    [InlineData("AQI", new byte[] { 1, 2 })]
    [InlineData("AQID", new byte[] { 1, 2, 3 })]
    [InlineData(" AQID ", new byte[] { 1, 2, 3 })]
    [InlineData("", new byte[0])]
    public void DecodeBinary_PaddedOrUnpadded_Decodes(string value, byte[] expected)
    {
        Assert.Equal(expected, GrpcProtocol.DecodeBinary(value));
    }

    [Fact]
    public void DecodeBinary_AllByteValues_RoundTrip()
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var encoded = GrpcProtocol.EncodeBinary(bytes);
        Assert.Equal(bytes, GrpcProtocol.DecodeBinary(encoded));
        Assert.Equal(bytes, GrpcProtocol.DecodeBinary(encoded.TrimEnd('=')));
    }

    [Theory]
    [InlineData("A")]
    [InlineData("not base64!")]
    public void DecodeBinary_Malformed_Throws(string value)
    {
        Assert.Throws<FormatException>(() => GrpcProtocol.DecodeBinary(value));
    }

    // ---- content-type ---------------------------------------------------------------------------

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc+json", true)]
    [InlineData("application/grpc;charset=x", true)]
    [InlineData("APPLICATION/GRPC", true)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/gr", false)]
    [InlineData("text/plain", false)]
    [InlineData("application/json", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsGrpcContentType_AcceptsOnlyGrpc(string? contentType, bool expected)
    {
        Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(contentType));
    }

    [Theory]
    [InlineData("grpc-status", true)]
    [InlineData("grpc-timeout", true)]
    [InlineData(":path", true)]
    [InlineData("content-type", true)]
    [InlineData("te", true)]
    [InlineData("x-custom", false)]
    [InlineData("x-data-bin", false)]
    public void IsReservedHeader_ProtocolHeaders_AreReserved(string key, bool expected)
    {
        Assert.Equal(expected, GrpcProtocol.IsReservedHeader(key));
    }

    // ---- framing --------------------------------------------------------------------------------

    private static byte[] Header(byte flag, uint length)
    {
        var header = new byte[5];
        header[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), length);
        return header;
    }

    private static ValueTask<byte[]?> Read(byte[] bytes, int? maxSize = 4 * 1024 * 1024, ICompressionProvider? decompression = null) =>
        MessageFraming.ReadAsync(new MemoryStream(bytes), maxSize, decompression, new byte[5], CancellationToken.None);

    private static async Task<RpcException> ReadFails(byte[] bytes, int? maxSize = 4 * 1024 * 1024, ICompressionProvider? decompression = null) =>
        await Assert.ThrowsAsync<RpcException>(async () => await Read(bytes, maxSize, decompression));

    [Fact]
    public async Task Read_EmptyStream_ReturnsNull()
    {
        Assert.Null(await Read([]));
    }

    [Fact]
    public void Frame_Identity_HasFlagZeroAndBigEndianLength()
    {
        var framed = MessageFraming.Frame(Encoding.ASCII.GetBytes("hello"), null);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 5, (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o' }, framed);
    }

    [Fact]
    public async Task Read_FramedMessages_ReadsEachThenNull()
    {
        var first = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        var stream = new MemoryStream([.. MessageFraming.Frame(first, null), .. MessageFraming.Frame([], null)]);
        var header = new byte[5];
        Assert.Equal(first, await MessageFraming.ReadAsync(stream, 1024, null, header, CancellationToken.None));
        Assert.Equal(Array.Empty<byte>(), await MessageFraming.ReadAsync(stream, 1024, null, header, CancellationToken.None));
        Assert.Null(await MessageFraming.ReadAsync(stream, 1024, null, header, CancellationToken.None));
    }

    [Fact]
    public async Task Read_SlowStream_ReassemblesPartialReads()
    {
        var payload = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        var stream = new OneByteStream(MessageFraming.Frame(payload, null));
        Assert.Equal(payload, await MessageFraming.ReadAsync(stream, null, null, new byte[5], CancellationToken.None));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Read_PartialHeader_IsInternal(int length)
    {
        var e = await ReadFails(Header(0, 10).AsSpan(0, length).ToArray());
        Assert.Equal(StatusCode.Internal, e.StatusCode);
    }

    [Fact]
    public async Task Read_PartialPayload_IsInternal()
    {
        var e = await ReadFails([.. Header(0, 100), .. new byte[10]]);
        Assert.Equal(StatusCode.Internal, e.StatusCode);
        Assert.Contains("10 of 100", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_Oversize_IsResourceExhaustedBeforeThePayload()
    {
        // Only the header: the limit is enforced before the payload is awaited or allocated.
        var e = await ReadFails(Header(0, 1025), maxSize: 1024);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        var huge = await ReadFails(Header(0, uint.MaxValue), maxSize: null);
        Assert.Equal(StatusCode.ResourceExhausted, huge.StatusCode);
    }

    [Fact]
    public async Task Read_ExactlyTheLimit_IsAccepted()
    {
        var payload = new byte[1024];
        Assert.Equal(payload, await Read(MessageFraming.Frame(payload, null), maxSize: 1024));
    }

    [Fact]
    public async Task Read_CompressedFlagWithoutProvider_IsInternal()
    {
        var e = await ReadFails([.. Header(1, 3), 1, 2, 3]);
        Assert.Equal(StatusCode.Internal, e.StatusCode);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0x80)]
    [InlineData(0xFF)]
    public async Task Read_InvalidCompressedFlag_IsInternal(byte flag)
    {
        var e = await ReadFails([.. Header(flag, 3), 1, 2, 3], decompression: new GzipCompressionProvider());
        Assert.Equal(StatusCode.Internal, e.StatusCode);
    }

    [Fact]
    public async Task Gzip_FrameAndRead_RoundTrips()
    {
        var gzip = new GzipCompressionProvider();
        var payload = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("compressible text ", 1000)));
        var framed = MessageFraming.Frame(payload, gzip);
        Assert.Equal(1, framed[0]);
        Assert.Equal((uint)(framed.Length - 5), BinaryPrimitives.ReadUInt32BigEndian(framed.AsSpan(1)));
        Assert.True(framed.Length < payload.Length / 4, $"{framed.Length} bytes for {payload.Length}");
        Assert.Equal(payload, await Read(framed, decompression: gzip));
    }

    [Fact]
    public async Task Gzip_IdentityFrameOnGzipCall_IsReadAsIs()
    {
        // Flag 0 on a call with grpc-encoding: that message is simply not compressed.
        var payload = new byte[] { 9, 8, 7 };
        Assert.Equal(payload, await Read(MessageFraming.Frame(payload, null), decompression: new GzipCompressionProvider()));
    }

    [Fact]
    public async Task Gzip_NotGzipBytes_IsInternal()
    {
        var e = await ReadFails([.. Header(1, 8), .. "notgzip!"u8.ToArray()], decompression: new GzipCompressionProvider());
        Assert.Equal(StatusCode.Internal, e.StatusCode);
    }

    [Fact]
    public async Task Gzip_DecompressionBomb_IsResourceExhausted()
    {
        // 16 MiB of zeros compress to a few dozen KiB: small on the wire, far over the 1 MiB limit once inflated.
        var gzip = new GzipCompressionProvider();
        var framed = MessageFraming.Frame(new byte[16 * 1024 * 1024], gzip);
        Assert.True(framed.Length < 256 * 1024, $"{framed.Length} bytes on the wire");
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = await ReadFails(framed, maxSize: 1024 * 1024, decompression: gzip);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 16 * 1024 * 1024, $"allocated {allocated} bytes refusing the bomb");
    }

    [Fact]
    public async Task Gzip_DecompressedExactlyAtLimit_IsAccepted()
    {
        var gzip = new GzipCompressionProvider();
        var payload = new byte[64 * 1024];
        Assert.Equal(payload, await Read(MessageFraming.Frame(payload, gzip), maxSize: payload.Length, decompression: gzip));
    }

    /// <summary>A stream that returns one byte per read, like a slow network.</summary>
    private sealed class OneByteStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= data.Length || count == 0)
            {
                return 0;
            }

            buffer[offset] = data[_position++];
            return 1;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
