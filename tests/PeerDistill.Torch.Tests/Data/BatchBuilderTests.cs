using System.Diagnostics;
using PeerDistill.Torch.Data;
using Xunit;

namespace PeerDistill.Torch.Tests.Data;

public sealed class BatchBuilderTests
{
    /// <summary>Two 1x4x5 images whose pixel value encodes its position: (10 * row + column + 1) / 100, the second one + 0.5.</summary>
    private static InMemoryDataset Ramp()
    {
        var shape = new InputShape(1, 4, 5);
        var pixels = new float[2 * shape.Size];
        for (var n = 0; n < 2; n++)
        {
            for (var y = 0; y < 4; y++)
            {
                for (var x = 0; x < 5; x++)
                {
                    pixels[n * shape.Size + y * 5 + x] = (10 * y + x + 1) / 100f + 0.5f * n;
                }
            }
        }

        return new InMemoryDataset("ramp", pixels, [3, 1], shape, classes: 4);
    }

    [Fact]
    public void Build_NoAugmentation_CopiesImagesAndLabelsInOrder()
    {
        var data = Ramp();
        var builder = new BatchBuilder(data, Normalization.None, Augmentation.None, seed: 0);

        var batch = builder.Build([1, 0], epoch: 2, batchIndex: 5);

        Assert.Equal((2, 2, 5), (batch.Count, batch.Epoch, batch.Index));
        Assert.Equal(data.Image(1).ToArray(), batch.Images[..20]);
        Assert.Equal(data.Image(0).ToArray(), batch.Images[20..]);
        Assert.Equal([1L, 3L], batch.Labels);
    }

    [Fact]
    public void Build_Normalization_SubtractsMeanDividesByStd()
    {
        var data = Ramp();
        var builder = new BatchBuilder(data, new Normalization([0.25f], [0.5f]), Augmentation.None, seed: 0);

        var batch = builder.Build([0], 0, 0);

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal((data.Image(0)[i] - 0.25f) / 0.5f, batch.Images[i], 1e-6f);
        }
    }

    [Fact]
    public void Build_SameInputsWithAugmentation_IdenticalFloats()
    {
        var data = SyntheticDataset.Create(64, seed: 4);
        var augmentation = new Augmentation(cropPadding: 4, horizontalFlip: true);
        var indices = Enumerable.Range(0, 64).Reverse().ToArray();

        var a = new BatchBuilder(data, Normalization.Compute(data), augmentation, seed: 9).Build(indices, 3, 7);
        var b = new BatchBuilder(data, Normalization.Compute(data), augmentation, seed: 9).Build(indices, 3, 7);
        var otherBatch = new BatchBuilder(data, Normalization.Compute(data), augmentation, seed: 9).Build(indices, 3, 8);

        Assert.Equal(a.Images, b.Images);
        Assert.NotEqual(a.Images, otherBatch.Images);
    }

    [Fact]
    public void Build_CropPadding_ShiftsPixelsAndPadsWithZero()
    {
        var data = Ramp();
        var builder = new BatchBuilder(data, Normalization.None, new Augmentation(cropPadding: 2), seed: 1);
        var shifted = 0;

        for (var batchIndex = 0; batchIndex < 20; batchIndex++)
        {
            var image = builder.Build([0], 0, batchIndex).Images;

            // Every output pixel is either padding or the input pixel one fixed (dy, dx) away.
            var offsets = Enumerable.Range(0, 20).Where(i => image[i] != 0)
                .Select(i => OffsetOf(image[i], i / 5, i % 5)).Distinct().ToArray();
            var (dy, dx) = Assert.Single(offsets);
            Assert.InRange(dy, -2, 2);
            Assert.InRange(dx, -2, 2);
            Assert.Equal((4 - Math.Abs(dy)) * (5 - Math.Abs(dx)), image.Count(v => v != 0));
            shifted += (dy, dx) == (0, 0) ? 0 : 1;
        }

        Assert.True(shifted >= 10, $"only {shifted} of 20 crops moved the image");
    }

    [Fact]
    public void Build_HorizontalFlip_MirrorsRowsAboutHalfTheTime()
    {
        var data = Ramp();
        var builder = new BatchBuilder(data, Normalization.None, new Augmentation(horizontalFlip: true), seed: 1);
        var original = data.Image(0).ToArray();
        var mirrored = Enumerable.Range(0, 20).Select(i => original[i / 5 * 5 + 4 - i % 5]).ToArray();
        var flips = 0;

        for (var batchIndex = 0; batchIndex < 100; batchIndex++)
        {
            var image = builder.Build([0], 0, batchIndex).Images;
            if (image.SequenceEqual(mirrored))
            {
                flips++;
            }
            else
            {
                Assert.Equal(original, image);
            }
        }

        Assert.InRange(flips, 30, 70);
    }

    [Fact]
    public void Build_Sampler_UsesSamplerBatch()
    {
        var data = SyntheticDataset.Create(50, seed: 2);
        var sampler = new BatchSampler(data.Count, 16, seed: 5);
        var builder = new BatchBuilder(data, Normalization.None, Augmentation.None, seed: 0);

        var batch = builder.Build(sampler, epoch: 1, batchIndex: 3);

        var indices = sampler.Batch(1, 3).ToArray();
        Assert.Equal(indices.Length, batch.Count);
        Assert.Equal(indices.Select(i => (long)data.Label(i)), batch.Labels);
        Assert.Equal(data.Image(indices[1]).ToArray(), batch.Images.AsSpan(data.Shape.Size, data.Shape.Size).ToArray());
        Assert.Throws<ArgumentException>(() => builder.Build(new BatchSampler(49, 16, seed: 5), 0, 0));
    }

    [Fact]
    public void Build_NormalizationChannelMismatch_Throws()
    {
        var data = SyntheticDataset.Create(4, shape: new InputShape(3, 4, 4));

        Assert.Throws<ArgumentException>(() => new BatchBuilder(data, new Normalization([0f, 0f], [1f, 1f]), Augmentation.None, 0));
        _ = new BatchBuilder(data, new Normalization([0f, 0f, 0f], [1f, 1f, 1f]), Augmentation.None, 0);
    }

    [Fact]
    public void Tensors_Batch_HaveBatchShapeAndValues()
    {
        var data = Ramp();
        var batch = new BatchBuilder(data, Normalization.None, Augmentation.None, seed: 0).Build([0, 1], 0, 0);

        using var images = batch.ImagesTensor();
        using var labels = batch.LabelsTensor();

        Assert.Equal([2L, 1, 4, 5], images.Shape);
        Assert.Equal(batch.Images, images.ToFloatArray());
        Assert.Equal([2L], labels.Shape);
        Assert.Equal(batch.Labels, labels.ToInt64Array());
    }

    /// <summary>The (dy, dx) from output pixel (y, x) back to the ramp pixel holding <paramref name="value"/>.</summary>
    private static (int Dy, int Dx) OffsetOf(float value, int y, int x)
    {
        var code = (int)MathF.Round(value * 100) - 1;
        return (code / 10 - y, code % 10 - x);
    }
}
