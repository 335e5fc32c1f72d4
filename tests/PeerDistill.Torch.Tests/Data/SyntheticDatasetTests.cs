using PeerDistill.Torch.Data;
using Xunit;

namespace PeerDistill.Torch.Tests.Data;

public sealed class SyntheticDatasetTests
{
    [Fact]
    public void Create_SameSeed_IdenticalData()
    {
        var a = SyntheticDataset.Create(40, seed: 12);
        var b = SyntheticDataset.Create(40, seed: 12);
        var c = SyntheticDataset.Create(40, seed: 13);

        Assert.Equal(a.Labels.ToArray(), b.Labels.ToArray());
        Assert.Equal(a.Image(17).ToArray(), b.Image(17).ToArray());
        Assert.NotEqual(a.Image(17).ToArray(), c.Image(17).ToArray());
    }

    [Fact]
    public void Create_Defaults_BalancedFashionShapedPixelsInUnitRange()
    {
        var data = SyntheticDataset.Create(95);

        Assert.Equal(new InputShape(1, 28, 28), data.Shape);
        Assert.Equal(10, data.Classes);
        Assert.All(Enumerable.Range(0, 10), c => Assert.InRange(data.Labels.ToArray().Count(l => l == c), 9, 10));
        Assert.All(Enumerable.Range(0, data.Count), i => Assert.All(data.Image(i).ToArray(), p => Assert.InRange(p, 0f, 1f)));
    }

    [Theory]
    [InlineData(1, 28, 28)]
    [InlineData(3, 32, 32)]
    public void NearestClassMean_DefaultNoise_WellAboveChanceButNotPerfect(int channels, int height, int width)
    {
        var data = SyntheticDataset.Create(4000, shape: new InputShape(channels, height, width), seed: 5);
        var (train, validation) = DatasetSplit.Split(data, 0.25, seed: 1);

        var accuracy = NearestClassMeanAccuracy(train, validation);

        Assert.InRange(accuracy, 0.6, 0.99);
    }

    [Fact]
    public void NearestClassMean_MoreNoise_LowerAccuracy()
    {
        double Accuracy(double noise)
        {
            var (train, validation) = DatasetSplit.Split(SyntheticDataset.Create(3000, seed: 5, noise: noise), 0.25, seed: 1);
            return NearestClassMeanAccuracy(train, validation);
        }

        var (low, high) = (Accuracy(0.25), Accuracy(1.0));

        Assert.True(low > 0.99, $"noise 0.25: {low:P1}");
        Assert.True(high < low - 0.2, $"noise 1.0: {high:P1} vs {low:P1}");
    }

    [Fact]
    public void TenThousandClasses_BalancedInUnitRange()
    {
        var data = SyntheticDataset.Create(20_000, classes: 10_000, seed: 3);

        Assert.Equal(10_000, data.Classes);
        var counts = new int[10_000];
        foreach (var l in data.Labels.ToArray())
        {
            counts[l]++;
        }

        Assert.All(counts, n => Assert.Equal(2, n));
        Assert.All(data.Image(19_999).ToArray(), p => Assert.InRange(p, 0f, 1f));
    }

    [Fact]
    public void ManyClasses_GetMoreContrast_TenOrFewerAsBefore()
    {
        static double Rms(int classes)
        {
            var data = SyntheticDataset.Create(classes, classes: classes, seed: 9, noise: 0);
            return Math.Sqrt(Enumerable.Range(0, data.Count).SelectMany(i => data.Image(i).ToArray()).Average(p => (p - 0.5) * (p - 0.5)));
        }

        Assert.Equal(1, SyntheticDataset.ContrastGain(2));
        Assert.Equal(1, SyntheticDataset.ContrastGain(10));
        Assert.Equal(10, SyntheticDataset.ContrastGain(100));
        Assert.Equal(16, SyntheticDataset.ContrastGain(10_000));
        var (few, many) = (Rms(10), Rms(1000));
        Assert.InRange(few, 0.05, 0.08);
        Assert.True(many > 3 * few, $"1000 classes: RMS {many:F3} vs {few:F3} for 10");
    }

    private static double NearestClassMeanAccuracy(IDataset train, IDataset validation)
    {
        var size = train.Shape.Size;
        var means = new double[train.Classes, size];
        var counts = new int[train.Classes];
        for (var i = 0; i < train.Count; i++)
        {
            var label = train.Label(i);
            counts[label]++;
            var image = train.Image(i);
            for (var p = 0; p < size; p++)
            {
                means[label, p] += image[p];
            }
        }

        var correct = 0;
        for (var i = 0; i < validation.Count; i++)
        {
            var image = validation.Image(i);
            var (best, bestDistance) = (-1, double.MaxValue);
            for (var c = 0; c < train.Classes; c++)
            {
                double distance = 0;
                for (var p = 0; p < size; p++)
                {
                    var d = image[p] - means[c, p] / counts[c];
                    distance += d * d;
                }

                (best, bestDistance) = distance < bestDistance ? (c, distance) : (best, bestDistance);
            }

            correct += best == validation.Label(i) ? 1 : 0;
        }

        return (double)correct / validation.Count;
    }
}
