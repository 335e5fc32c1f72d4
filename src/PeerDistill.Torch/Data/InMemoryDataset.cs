namespace PeerDistill.Torch.Data;

/// <summary>
/// An <see cref="IDataset"/> whose pixels and labels live in managed arrays. The arrays are used as
/// given (not copied) so that large data sets are held once; do not change them afterwards.
/// </summary>
public sealed class InMemoryDataset : IDataset
{
    private readonly float[] _pixels;
    private readonly int[] _labels;

    /// <summary>Creates a data set over <paramref name="pixels"/> (Count x C x H x W) and <paramref name="labels"/>.</summary>
    /// <exception cref="ArgumentException">The sizes disagree or a label is outside 0..classes-1.</exception>
    public InMemoryDataset(string name, float[] pixels, int[] labels, InputShape shape, int classes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (shape.Channels <= 0 || shape.Height <= 0 || shape.Width <= 0)
        {
            throw new ArgumentException($"data set '{name}': every dimension of the shape must be positive, got {shape}", nameof(shape));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if ((long)labels.Length * shape.Size != pixels.Length)
        {
            throw new ArgumentException(
                $"data set '{name}': {labels.Length} labels of shape {shape} need {(long)labels.Length * shape.Size} pixel values, got {pixels.Length}",
                nameof(pixels));
        }

        for (var i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
            {
                throw new ArgumentException(
                    $"data set '{name}': label {labels[i]} of sample {i} is outside 0..{classes - 1}", nameof(labels));
            }
        }

        Name = name;
        _pixels = pixels;
        _labels = labels;
        Shape = shape;
        Classes = classes;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int Count => _labels.Length;

    /// <inheritdoc/>
    public InputShape Shape { get; }

    /// <inheritdoc/>
    public int Classes { get; }

    /// <summary>All labels, in sample order.</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <inheritdoc/>
    public ReadOnlySpan<float> Image(int index)
    {
        CheckIndex(index);
        return _pixels.AsSpan(index * Shape.Size, Shape.Size);
    }

    /// <inheritdoc/>
    public int Label(int index)
    {
        CheckIndex(index);
        return _labels[index];
    }

    /// <summary>A copy of the samples at <paramref name="indices"/>, in that order (repeats allowed).</summary>
    public InMemoryDataset Subset(IReadOnlyList<int> indices, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var size = Shape.Size;
        var pixels = new float[(long)indices.Count * size];
        var labels = new int[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            var source = indices[i];
            CheckIndex(source);
            _pixels.AsSpan(source * size, size).CopyTo(pixels.AsSpan(i * size, size));
            labels[i] = _labels[source];
        }

        return new InMemoryDataset(name ?? $"{Name}[{indices.Count}]", pixels, labels, Shape, Classes);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Count} x {Shape}, {Classes} classes)";

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)_labels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"data set '{Name}' has {_labels.Length} samples");
        }
    }
}
