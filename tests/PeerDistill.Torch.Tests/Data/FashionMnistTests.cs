using PeerDistill.Torch.Data;
using Xunit;

namespace PeerDistill.Torch.Tests.Data;

public sealed class FashionMnistTests
{
    [Fact]
    public void Load_MissingDirectory_FileNotFoundNamesPathAndPackage()
    {
        using var dir = new ScratchDirectory();

        var error = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(dir.Path, train: true));

        Assert.Contains(Path.Combine(dir.Path, "train-images-idx3-ubyte"), error.Message);
        Assert.Contains("dataset-fashion-mnist", error.Message);
        Assert.False(FashionMnist.IsAvailable(dir.Path));
    }

    [Fact]
    public void Load_MixedGzipAndRawFiles_ScalesPixelsAndKeepsLabels()
    {
        using var dir = new ScratchDirectory();
        var images = IdxBytes.Images(count: 3, rows: 2, columns: 2);
        dir.Write("t10k-images-idx3-ubyte.gz", IdxBytes.Gzip(images));
        dir.Write("t10k-labels-idx1-ubyte", IdxBytes.Labels(4, 9, 0));

        var test = FashionMnist.Load(dir.Path, train: false);

        Assert.Equal(3, test.Count);
        Assert.Equal(new InputShape(1, 2, 2), test.Shape);
        Assert.Equal(10, test.Classes);
        Assert.Equal([4, 9, 0], new[] { test.Label(0), test.Label(1), test.Label(2) });
        Assert.Equal(images[16 + 4 + 3] / 255f, test.Image(1)[3]);
    }

    [Fact]
    public void Load_CountMismatch_ErrorNamesBothFiles()
    {
        using var dir = new ScratchDirectory();
        var imagesPath = dir.Write("train-images-idx3-ubyte", IdxBytes.Images(count: 3, rows: 2, columns: 2));
        var labelsPath = dir.Write("train-labels-idx1-ubyte.gz", IdxBytes.Gzip(IdxBytes.Labels(1, 2)));

        var error = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(dir.Path, train: true));

        Assert.Contains(imagesPath, error.Message);
        Assert.Contains(labelsPath, error.Message);
        Assert.Contains("3 images", error.Message);
        Assert.Contains("2 labels", error.Message);
    }

    [Fact]
    public void Load_LabelOutOfRange_ErrorNamesFile()
    {
        using var dir = new ScratchDirectory();
        dir.Write("train-images-idx3-ubyte", IdxBytes.Images(count: 2, rows: 2, columns: 2));
        var labelsPath = dir.Write("train-labels-idx1-ubyte", IdxBytes.Labels(1, 10));

        var error = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(dir.Path, train: true));

        Assert.Contains(labelsPath, error.Message);
        Assert.Contains("label 10", error.Message);
    }

    [Fact]
    public void ClassNames_OnePerClass()
    {
        Assert.Equal(FashionMnist.ClassCount, FashionMnist.ClassNames.Count);
        Assert.Equal("Ankle boot", FashionMnist.ClassNames[9]);
    }

    [FashionMnistFact]
    public void Load_InstalledData_HasStandardSplitsAndStatistics()
    {
        var train = FashionMnist.Load(null, train: true);
        var test = FashionMnist.Load(null, train: false);

        Assert.True(FashionMnist.IsAvailable(null));
        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
        Assert.Equal(new InputShape(1, 28, 28), train.Shape);
        var counts = new int[10];
        foreach (var label in train.Labels)
        {
            counts[label]++;
        }

        Assert.All(counts, count => Assert.Equal(6000, count));
        Assert.All(test.Labels.ToArray(), label => Assert.InRange(label, 0, 9));
        var stats = Normalization.Compute(train);
        Assert.Equal(Normalization.FashionMnist.Mean[0], stats.Mean[0], 0.001f);
        Assert.Equal(Normalization.FashionMnist.Std[0], stats.Std[0], 0.001f);
    }
}
