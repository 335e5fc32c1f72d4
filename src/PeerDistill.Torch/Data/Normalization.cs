using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Data;

/// <summary>
/// Per-channel normalization x' = (x - Mean[c]) / Std[c], applied after augmentation. A single
/// value applies to every channel.
/// </summary>
public sealed record Normalization
{
    /// <summary>Creates a normalization; <paramref name="mean"/> and <paramref name="std"/> have one value per channel (or one for all).</summary>
    public Normalization(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
        {
            throw new ArgumentException($"need one mean and one std per channel, got {mean.Length} means and {std.Length} stds");
        }

        foreach (var s in std)
        {
            if (!(s > 0f) || !float.IsFinite(s))
            {
                throw new ArgumentOutOfRangeException(nameof(std), s, "every std must be positive and finite");
            }
        }

        Mean = mean;
        Std = std;
    }

    /// <summary>Fashion-MNIST training-set statistics (mean 0.2860, std 0.3530).</summary>
    public static Normalization FashionMnist => new([0.2860f], [0.3530f]);

    /// <summary>The identity (mean 0, std 1).</summary>
    public static Normalization None => new([0f], [1f]);

    /// <summary>Mean per channel.</summary>
    public float[] Mean { get; }

    /// <summary>Standard deviation per channel.</summary>
    public float[] Std { get; }

    /// <summary>Number of channels this normalization describes (1 means: the same for all).</summary>
    public int Channels => Mean.Length;

    /// <summary>
    /// Per-channel mean and (population) standard deviation of every pixel of <paramref name="dataset"/>.
    /// A constant channel gets std 1 so that normalizing it stays finite.
    /// </summary>
    public static Normalization Compute(IDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count == 0)
        {
            throw new ArgumentException($"data set '{dataset.Name}' is empty", nameof(dataset));
        }

        var shape = dataset.Shape;
        var plane = shape.Height * shape.Width;
        var sums = new double[shape.Channels];
        var squares = new double[shape.Channels];
        for (var i = 0; i < dataset.Count; i++)
        {
            var image = dataset.Image(i);
            for (var c = 0; c < shape.Channels; c++)
            {
                double sum = 0, square = 0;
                foreach (var x in image.Slice(c * plane, plane))
                {
                    sum += x;
                    square += (double)x * x;
                }

                sums[c] += sum;
                squares[c] += square;
            }
        }

        var n = (double)dataset.Count * plane;
        var mean = new float[shape.Channels];
        var std = new float[shape.Channels];
        for (var c = 0; c < shape.Channels; c++)
        {
            var m = sums[c] / n;
            var variance = Math.Max(0, squares[c] / n - m * m);
            mean[c] = (float)m;
            std[c] = variance > 1e-12 ? (float)Math.Sqrt(variance) : 1f;
        }

        return new Normalization(mean, std);
    }

    /// <inheritdoc/>
    public bool Equals(Normalization? other) =>
        other is not null && Mean.AsSpan().SequenceEqual(other.Mean) && Std.AsSpan().SequenceEqual(other.Std);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(MemoryMarshal.AsBytes(Mean.AsSpan()));
        hash.AddBytes(MemoryMarshal.AsBytes(Std.AsSpan()));
        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => $"Normalization(mean [{string.Join(", ", Mean)}], std [{string.Join(", ", Std)}])";
}
