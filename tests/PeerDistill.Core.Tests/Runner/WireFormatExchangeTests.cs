using PeerDistill.Core.Exchange;
using PeerDistill.Core.Spec;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>The embedded exchange hands over what the gRPC codec would deliver.</summary>
public sealed class WireFormatExchangeTests
{
    private static readonly float[] Logits = [0.5f, -1.25f, 3.1f, 0.3333f, 2f, -0.7f, 1.1f, 1.2f, 0f, 5.5f];

    [Fact]
    public void TopK_GathersTheDenseReconstruction()
    {
        var format = LogitWireFormat.From(new ExchangeSpec { WireDType = ExchangeSpec.WireTopK, TopK = 2, TopKRest = ExchangeSpec.RestUniform });
        var gathered = PublishAndGather(format);
        Assert.Equal(SparseLogits.RoundTrip(Logits, 5, 2, RestMass.Uniform), gathered);
        Assert.NotEqual(Logits, gathered);
    }

    [Fact]
    public void Fp16_GathersHalfPrecisionValues()
    {
        var gathered = PublishAndGather(LogitWireFormat.From(new ExchangeSpec { WireDType = ExchangeSpec.WireFp16 }));
        Assert.Equal(Logits.Select(v => (float)(Half)v), gathered);
        Assert.NotEqual(Logits, gathered);
    }

    [Fact]
    public void Fp32_GathersTheLogitsAsTheyAre()
    {
        Assert.Equal(Logits, PublishAndGather(LogitWireFormat.Fp32));
    }

    [Fact]
    public void From_ReadsTheRestMode()
    {
        var format = LogitWireFormat.From(new ExchangeSpec { WireDType = ExchangeSpec.WireTopK, TopK = 32, TopKRest = ExchangeSpec.RestDrop });
        Assert.Equal(new LogitWireFormat(LogitEncoding.TopK, 32, RestMass.Drop), format);
        Assert.False(format.IsExact);
    }

    private static float[] PublishAndGather(LogitWireFormat format)
    {
        using var exchange = new InMemoryLogitExchange(["a", "b"], wire: format);
        exchange.Publish("b", 0, Tensor.FromArray(Logits, 2, 5));
        var teacher = Assert.Single(exchange.Gather("a", 0, ["b"], CancellationToken.None));
        using (teacher)
        {
            Assert.Equal([2L, 5L], teacher.Logits.Shape);
            return teacher.Logits.ToFloatArray();
        }
    }
}
