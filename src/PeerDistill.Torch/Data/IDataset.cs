namespace PeerDistill.Torch.Data;

/// <summary>
/// A labelled image classification data set with random access. Pixels are raw values scaled to
/// [0, 1] (before normalization), laid out channel-major (C x H x W) per sample.
/// </summary>
public interface IDataset
{
    /// <summary>Human-readable name, used in logs and run records.</summary>
    string Name { get; }

    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Shape of one sample.</summary>
    InputShape Shape { get; }

    /// <summary>Number of classes; every label lies in 0..Classes-1.</summary>
    int Classes { get; }

    /// <summary>The <see cref="InputShape.Size"/> pixel values of sample <paramref name="index"/>, in [0, 1].</summary>
    ReadOnlySpan<float> Image(int index);

    /// <summary>The class of sample <paramref name="index"/>.</summary>
    int Label(int index);
}
