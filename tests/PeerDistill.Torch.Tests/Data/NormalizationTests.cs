using PeerDistill.Torch.Data;
using Xunit;

namespace PeerDistill.Torch.Tests.Data;

public sealed class NormalizationTests
{
    [Fact]
    public void Compute_TwoChannels_PerChannelMeanAndStd()
    {
        // Channel 0 holds 0, 1, 0, 1 (mean 0.5, std 0.5); channel 1 is constant 0.25.
        float[] pixels = [0, 1, 0.25f, 0.25f, 0, 1, 0.25f, 0.25f];
        var data = new InMemoryDataset("two", pixels, [0, 1], new InputShape(2, 1, 2), classes: 2);

        var stats = Normalization.Compute(data);

        Assert.Equal(0.5f, stats.Mean[0], 1e-6f);
        Assert.Equal(0.5f, stats.Std[0], 1e-6f);
        Assert.Equal(0.25f, stats.Mean[1], 1e-6f);
        Assert.Equal(1f, stats.Std[1]);
    }

    [Fact]
    public void Presets_HaveDocumentedValues()
    {
        Assert.Equal(new Normalization([0.2860f], [0.3530f]), Normalization.FashionMnist);
        Assert.Equal([0f], Normalization.None.Mean);
        Assert.Equal([1f], Normalization.None.Std);
        Assert.NotEqual(Normalization.None, Normalization.FashionMnist);
    }

    [Fact]
    public void Constructor_NonPositiveStdOrLengthMismatch_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Normalization([0f], [0f]));
        Assert.Throws<ArgumentException>(() => new Normalization([0f, 0f], [1f]));
    }

    [Fact]
    public void Augmentation_NegativePadding_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(cropPadding: -1));
        Assert.True(Augmentation.None.IsNone);
        Assert.False((Augmentation.None with { HorizontalFlip = true }).IsNone);
    }
}
