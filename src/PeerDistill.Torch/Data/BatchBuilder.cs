using System.Numerics;

namespace PeerDistill.Torch.Data;

/// <summary>
/// Assembles batches: copies each sample, applies the augmentation, then normalizes. The random
/// choices of a batch come from a generator seeded by Mix(seed, epoch, batchIndex), so every peer
/// that builds the same batch gets the same floats. Holds no mutable state: safe to share between threads.
/// </summary>
public sealed class BatchBuilder
{
    private readonly float[] _scale;
    private readonly float[] _offset;

    /// <summary>Creates a builder for <paramref name="dataset"/>.</summary>
    /// <exception cref="ArgumentException">The normalization has neither one value nor one per channel.</exception>
    public BatchBuilder(IDataset dataset, Normalization normalization, Augmentation augmentation, long seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(normalization);
        ArgumentNullException.ThrowIfNull(augmentation);
        var channels = dataset.Shape.Channels;
        if (normalization.Channels != 1 && normalization.Channels != channels)
        {
            throw new ArgumentException(
                $"normalization has {normalization.Channels} channels but data set '{dataset.Name}' has {channels}", nameof(normalization));
        }

        Dataset = dataset;
        Normalization = normalization;
        Augmentation = augmentation;
        Seed = seed;

        // (x - mean) / std == x * scale + offset, precomputed per channel.
        _scale = new float[channels];
        _offset = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var k = normalization.Channels == 1 ? 0 : c;
            _scale[c] = 1f / normalization.Std[k];
            _offset[c] = -normalization.Mean[k] / normalization.Std[k];
        }
    }

    /// <summary>The data set batches are drawn from.</summary>
    public IDataset Dataset { get; }

    /// <summary>Normalization applied last.</summary>
    public Normalization Normalization { get; }

    /// <summary>Augmentation applied before normalization.</summary>
    public Augmentation Augmentation { get; }

    /// <summary>Seed of the augmentation randomness.</summary>
    public long Seed { get; }

    /// <summary>Builds batch <paramref name="batchIndex"/> of <paramref name="epoch"/> as chosen by <paramref name="sampler"/>.</summary>
    public Batch Build(BatchSampler sampler, int epoch, int batchIndex)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        if (sampler.DatasetCount != Dataset.Count)
        {
            throw new ArgumentException(
                $"sampler covers {sampler.DatasetCount} samples but data set '{Dataset.Name}' has {Dataset.Count}", nameof(sampler));
        }

        return Build(sampler.Batch(epoch, batchIndex), epoch, batchIndex);
    }

    /// <summary>Builds a batch of the samples at <paramref name="indices"/>, in that order.</summary>
    public Batch Build(ReadOnlySpan<int> indices, int epoch, int batchIndex)
    {
        var shape = Dataset.Shape;
        var size = shape.Size;
        var images = GC.AllocateUninitializedArray<float>(indices.Length * size); // every value is written below
        var labels = new long[indices.Length];
        var random = Augmentation.IsNone ? null : new DeterministicRandom(DeterministicRandom.Mix(Seed, epoch, batchIndex));
        for (var i = 0; i < indices.Length; i++)
        {
            var source = Dataset.Image(indices[i]);
            var target = images.AsSpan(i * size, size);
            if (random is null)
            {
                source.CopyTo(target);
            }
            else
            {
                Augment(source, target, shape, random);
            }

            Normalize(target, shape);
            labels[i] = Dataset.Label(indices[i]);
        }

        return new Batch(images, labels, shape, epoch, batchIndex);
    }

    /// <summary>
    /// Writes a randomly shifted (the crop of the zero-padded image) and possibly mirrored copy of
    /// <paramref name="source"/> into <paramref name="target"/>. Draws, in order: the crop's row
    /// and column offsets (when cropping), then the flip (when flipping).
    /// </summary>
    private void Augment(ReadOnlySpan<float> source, Span<float> target, InputShape shape, DeterministicRandom random)
    {
        var padding = Augmentation.CropPadding;
        int dy = 0, dx = 0;
        if (padding > 0)
        {
            dy = random.NextInt(2 * padding + 1) - padding;
            dx = random.NextInt(2 * padding + 1) - padding;
        }

        var flip = Augmentation.HorizontalFlip && random.NextInt(2) == 1;

        // Output pixel (y, x) takes input pixel (y + dy, x + dx), or 0 where that falls outside.
        var (height, width) = (shape.Height, shape.Width);
        var firstX = Math.Clamp(-dx, 0, width);
        var lastX = Math.Clamp(width - dx, 0, width);
        for (var c = 0; c < shape.Channels; c++)
        {
            for (var y = 0; y < height; y++)
            {
                var row = target.Slice((c * height + y) * width, width);
                var sourceY = y + dy;
                if (sourceY < 0 || sourceY >= height || firstX >= lastX)
                {
                    row.Clear();
                    continue;
                }

                row[..firstX].Clear();
                source.Slice((c * height + sourceY) * width + firstX + dx, lastX - firstX).CopyTo(row[firstX..lastX]);
                row[lastX..].Clear();
                if (flip)
                {
                    row.Reverse();
                }
            }
        }
    }

    private void Normalize(Span<float> image, InputShape shape)
    {
        var plane = shape.Height * shape.Width;
        for (var c = 0; c < shape.Channels; c++)
        {
            var values = image.Slice(c * plane, plane);
            var (scale, offset) = (_scale[c], _offset[c]);
            var (scales, offsets) = (new Vector<float>(scale), new Vector<float>(offset));
            var i = 0;
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                (new Vector<float>(values[i..]) * scales + offsets).CopyTo(values[i..]);
            }

            for (; i < values.Length; i++)
            {
                values[i] = values[i] * scale + offset;
            }
        }
    }
}
