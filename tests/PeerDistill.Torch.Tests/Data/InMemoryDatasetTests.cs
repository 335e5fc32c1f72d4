using PeerDistill.Torch.Data;
using Xunit;

namespace PeerDistill.Torch.Tests.Data;

public sealed class InMemoryDatasetTests
{
    private static readonly InputShape Shape = new(1, 2, 2);

    [Fact]
    public void Constructor_PixelCountMismatch_MessageGivesSizes()
    {
        var error = Assert.Throws<ArgumentException>(() => new InMemoryDataset("d", new float[7], [0, 1], Shape, 2));

        Assert.Contains("2 labels of shape 1x2x2 need 8 pixel values, got 7", error.Message);
    }

    [Fact]
    public void Constructor_LabelOutOfRange_MessageNamesSample()
    {
        var error = Assert.Throws<ArgumentException>(() => new InMemoryDataset("d", new float[8], [0, 2], Shape, 2));

        Assert.Contains("label 2 of sample 1 is outside 0..1", error.Message);
    }

    [Fact]
    public void Subset_Indices_CopiesSamplesInOrder()
    {
        float[] pixels = [.. Enumerable.Range(0, 12).Select(i => i / 12f)];
        var data = new InMemoryDataset("d", pixels, [0, 1, 2], Shape, 3);

        var subset = data.Subset([2, 0, 2]);

        Assert.Equal(3, subset.Count);
        Assert.Equal("d[3]", subset.Name);
        Assert.Equal([2, 0, 2], subset.Labels.ToArray());
        Assert.Equal(data.Image(2).ToArray(), subset.Image(0).ToArray());
        Assert.Equal(data.Image(0).ToArray(), subset.Image(1).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Subset([3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Image(-1).ToArray());
    }
}
