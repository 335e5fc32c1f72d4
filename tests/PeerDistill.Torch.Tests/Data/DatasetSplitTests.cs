using PeerDistill.Torch.Data;
using Xunit;

namespace PeerDistill.Torch.Tests.Data;

public sealed class DatasetSplitTests
{
    /// <summary>A 1x1x1 data set whose only pixel is the sample's index / count, so subsets reveal their source indices.</summary>
    private static InMemoryDataset Indexed(int count) => new(
        "indexed",
        Enumerable.Range(0, count).Select(i => (float)i / count).ToArray(),
        Enumerable.Range(0, count).Select(i => i % 3).ToArray(),
        new InputShape(1, 1, 1),
        classes: 3);

    private static int[] Sources(IDataset subset, int count) =>
        Enumerable.Range(0, subset.Count).Select(i => (int)MathF.Round(subset.Image(i)[0] * count)).ToArray();

    [Fact]
    public void Split_Fraction_DisjointPartsCoverEverything()
    {
        var data = Indexed(1000);

        var (train, validation) = DatasetSplit.Split(data, 0.1, seed: 4);

        Assert.Equal(900, train.Count);
        Assert.Equal(100, validation.Count);
        var trainSources = Sources(train, 1000);
        var validationSources = Sources(validation, 1000);
        Assert.Empty(trainSources.Intersect(validationSources));
        Assert.Equal(Enumerable.Range(0, 1000), trainSources.Concat(validationSources).Order());
        Assert.Equal(validationSources.Order(), validationSources);
        Assert.All(validationSources.Zip(Enumerable.Range(0, validation.Count)), p => Assert.Equal(p.First % 3, validation.Label(p.Second)));
    }

    [Fact]
    public void Split_SameSeed_SamePartition_OtherSeed_Different()
    {
        var data = Indexed(500);

        var a = Sources(DatasetSplit.Split(data, 0.2, seed: 4).Validation, 500);
        var b = Sources(DatasetSplit.Split(data, 0.2, seed: 4).Validation, 500);
        var c = Sources(DatasetSplit.Split(data, 0.2, seed: 5).Validation, 500);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.NotEqual(Enumerable.Range(0, 100), a);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(0.0001)]
    public void Split_EmptyPart_Throws(double fraction)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplit.Split(Indexed(100), fraction, seed: 0));
    }

    [Fact]
    public void Take_Count_DeterministicDistinctRandomSubset()
    {
        var data = Indexed(1000);

        var a = DatasetSplit.Take(data, 100, seed: 2);
        var b = DatasetSplit.Take(data, 100, seed: 2);

        var sources = Sources(a, 1000);
        Assert.Equal(100, a.Count);
        Assert.Equal(sources, Sources(b, 1000));
        Assert.Equal(100, sources.Distinct().Count());
        Assert.NotEqual(Enumerable.Range(0, 100), sources);
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplit.Take(data, 1001, seed: 2));
    }
}
