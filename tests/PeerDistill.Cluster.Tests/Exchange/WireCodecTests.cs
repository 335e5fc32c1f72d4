using PeerDistill.Protocol.V1;
using PeerDistill.Cluster.Exchange;
using Xunit;

namespace PeerDistill.Cluster.Tests.Exchange;

public sealed class WireCodecTests
{
    [Fact]
    public void Fp32_RoundTripsExactly()
    {
        var values = new[] { 0f, -1.5f, 3.14159265f, float.Epsilon, 1e30f, -7.25e-12f };
        var bytes = WireCodec.Encode(values, WireDType.Fp32);
        Assert.Equal(values.Length * 4, bytes.Length);
        Assert.Equal(values, WireCodec.Decode(bytes.Span, WireDType.Fp32));
    }

    [Fact]
    public void Fp16_HalvesTheBytesWithinHalfPrecision()
    {
        var values = Enumerable.Range(-50, 101).Select(i => i * 0.173f).ToArray();
        var bytes = WireCodec.Encode(values, WireDType.Fp16);
        Assert.Equal(values.Length * 2, bytes.Length);
        var back = WireCodec.Decode(bytes.Span, WireDType.Fp16);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.True(Math.Abs(back[i] - values[i]) <= Math.Abs(values[i]) * 1e-3 + 1e-4, $"{values[i]} came back as {back[i]}");
        }
    }

    [Fact]
    public void FirstOutside_FindsNaNInfinityAndValuesBeyondTheBound()
    {
        Assert.Equal(-1, WireCodec.FirstOutside([1f, -2f], 2));
        Assert.Equal(1, WireCodec.FirstOutside([1f, float.NaN, float.PositiveInfinity], 10));
        Assert.Equal(0, WireCodec.FirstOutside([float.NegativeInfinity], double.MaxValue));
        Assert.Equal(1, WireCodec.FirstOutside([1f, -3e38f], 1e6));
    }

    [Fact]
    public void Parse_RejectsUnknownDtype()
    {
        Assert.Equal(WireDType.Fp16, WireCodec.Parse("fp16"));
        var e = Assert.Throws<ArgumentException>(() => WireCodec.Parse("bf16"));
        Assert.Contains("bf16", e.Message);
    }
}
