using PeerDistill.Core.Exchange;
using PeerDistill.Core.Spec;
using Xunit;
using static PeerDistill.Core.Tests.Spec.SpecText;

namespace PeerDistill.Core.Tests.Spec;

/// <summary><c>exchange.wire_dtype: topk</c> with <c>exchange.topk</c> and <c>exchange.topk_rest</c>.</summary>
public sealed class TopKSpecTests
{
    [Fact]
    public void FullSpec_ReadsTopKAndItsRest()
    {
        var result = Parse(Full);
        Assert.True(result.IsValid, result.ToString());
        var exchange = result.Spec!.Exchange;
        Assert.Equal((ExchangeSpec.WireTopK, 3, ExchangeSpec.RestDrop), (exchange.WireDType, exchange.TopK, exchange.TopKRest));
        Assert.Equal(new LogitWireFormat(LogitEncoding.TopK, 3, RestMass.Drop), LogitWireFormat.From(exchange));
    }

    [Fact]
    public void TopKWithoutOptions_KeepsEightClassesAndSpreadsTheRestUniformly()
    {
        var result = Parse(With("exchange: {wire_dtype: topk}"));
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(new LogitWireFormat(LogitEncoding.TopK, 8, RestMass.Uniform), LogitWireFormat.From(result.Spec!.Exchange));
    }

    [Fact]
    public void TenThousandSyntheticClasses_AllowTopKUpToClassesLessOne()
    {
        var spec = Minimal.Replace("dataset: fashion-mnist", "dataset: synthetic\n  synthetic: {classes: 10000, train_count: 100, test_count: 10}", StringComparison.Ordinal);
        var result = Parse(spec + "exchange: {wire_dtype: topk, topk: 4096}\n");
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(10000, result.Spec!.Data.SyntheticClasses);
        Assert.Equal(4096, result.Spec.Exchange.TopK);
    }

    [Fact]
    public void DenseWireDtypes_IgnoreNoTopKOptions()
    {
        var result = Parse(With("exchange: {wire_dtype: fp16}"));
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(new LogitWireFormat(LogitEncoding.Fp16), LogitWireFormat.From(result.Spec!.Exchange));
    }
}
