namespace PeerDistill.Torch.Data;

/// <summary>One training batch: normalized (and possibly augmented) images with their labels.</summary>
public sealed class Batch
{
    /// <summary>Creates a batch over <paramref name="images"/> (Count x C x H x W) and <paramref name="labels"/> (Count); the arrays are not copied.</summary>
    public Batch(float[] images, long[] labels, InputShape shape, int epoch, int index)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if ((long)labels.Length * shape.Size != images.Length)
        {
            throw new ArgumentException(
                $"{labels.Length} labels of shape {shape} need {(long)labels.Length * shape.Size} image values, got {images.Length}", nameof(images));
        }

        Images = images;
        Labels = labels;
        Shape = shape;
        Epoch = epoch;
        Index = index;
    }

    /// <summary>Count x C x H x W normalized pixel values.</summary>
    public float[] Images { get; }

    /// <summary>The class of each image.</summary>
    public long[] Labels { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Shape of one image.</summary>
    public InputShape Shape { get; }

    /// <summary>Epoch the batch belongs to.</summary>
    public int Epoch { get; }

    /// <summary>Index of the batch within its epoch.</summary>
    public int Index { get; }

    /// <summary>A new CPU float tensor [Count, C, H, W] holding a copy of <see cref="Images"/>.</summary>
    public Tensor ImagesTensor() => Tensor.FromSpan(Images, [Count, Shape.Channels, Shape.Height, Shape.Width]);

    /// <summary>A new CPU int64 tensor [Count] holding a copy of <see cref="Labels"/>.</summary>
    public Tensor LabelsTensor() => Tensor.FromSpan(Labels, [Count]);

    /// <inheritdoc/>
    public override string ToString() => $"Batch {Index} of epoch {Epoch} ({Count} x {Shape})";
}
