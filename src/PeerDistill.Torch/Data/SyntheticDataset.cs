namespace PeerDistill.Torch.Data;

/// <summary>
/// A deterministic, learnable stand-in for a real image data set (tests, benchmarks, machines
/// without the real data). Each class has a fixed random prototype image derived from the seed: a
/// smooth pattern around mid-grey whose contrast shrinks as 1/sqrt(pixels), so the task is about
/// equally hard at any image size. A sample is its class prototype plus independent gaussian noise
/// per pixel, clipped to [0, 1]. At the default noise 0.5 (10 classes, 1x28x28 or 3x32x32) a
/// nearest-class-mean classifier scores about 90%, and a small MLP or CNN trained for 300 steps of
/// 128 reaches 85-90%: well above chance, short of perfect. Noise 0.25 is trivially separable,
/// noise 0.75 drops nearest-class-mean to about 60%. Above 10 classes the prototypes get more
/// contrast (<see cref="ContrastGain"/>), so that sets of 1,000 or 10,000 classes stay learnable.
/// </summary>
public static class SyntheticDataset
{
    /// <summary>Expected squared distance of a prototype from mid-grey (0.5): sets how far apart the classes are.</summary>
    private const double SeparationEnergy = 3.3;

    /// <summary>Pixels between the points of the coarse grid the prototypes are interpolated from.</summary>
    private const int CellSize = 4;

    /// <summary>The most the prototypes' energy grows for many classes (<see cref="ContrastGain"/>).</summary>
    private const double MaxContrastGain = 16;

    /// <summary>
    /// How much more energy the prototypes of <paramref name="classes"/> classes get than those of
    /// 10: 1 up to 10 classes (their data stay as they were), classes / 10 above, at most
    /// <see cref="MaxContrastGain"/> (from 160 classes on; a pixel's deviation from mid-grey then
    /// has an RMS of about 0.26 at 1x28x28, still mostly inside [0, 1]). Many faint classes are slow
    /// to learn: at the base contrast two MLPs trained by DML for 470 steps of 128 stayed at chance
    /// on 1,000 classes (noise 0.1 to 1.2); at gain 16 they reach 53-81% at noise 0.5 and 99% at
    /// noise 0.3, so the noise sets the difficulty of a large-class set as it does for 10 classes.
    /// </summary>
    public static double ContrastGain(int classes) => Math.Clamp(classes / 10.0, 1, MaxContrastGain);

    /// <summary>Creates <paramref name="count"/> samples, balanced over the classes in a seed-dependent order.</summary>
    /// <param name="count">Number of samples.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="shape">Shape of one sample; default 1x28x28.</param>
    /// <param name="seed">Seed of the prototypes, the labels and the noise.</param>
    /// <param name="noise">Standard deviation of the per-pixel gaussian noise.</param>
    public static InMemoryDataset Create(int count, int classes = 10, InputShape? shape = null, long seed = 0, double noise = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        if (!(noise >= 0) || !double.IsFinite(noise))
        {
            throw new ArgumentOutOfRangeException(nameof(noise), noise, "noise must be a finite, non-negative standard deviation");
        }

        var sampleShape = shape ?? new InputShape(1, 28, 28);
        if (sampleShape.Channels <= 0 || sampleShape.Height <= 0 || sampleShape.Width <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), sampleShape, "every dimension must be positive");
        }

        var size = sampleShape.Size;
        var prototypes = Prototypes(classes, sampleShape, seed);

        var random = new DeterministicRandom(DeterministicRandom.Mix(seed, 2));
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = i % classes;
        }

        random.Shuffle(labels.AsSpan());

        var pixels = new float[(long)count * size];
        for (var i = 0; i < count; i++)
        {
            var prototype = prototypes.AsSpan(labels[i] * size, size);
            var image = pixels.AsSpan(i * size, size);
            for (var p = 0; p < size; p++)
            {
                image[p] = (float)Math.Clamp(prototype[p] + noise * random.NextGaussian(), 0.0, 1.0);
            }
        }

        return new InMemoryDataset($"synthetic-seed{seed}-{classes}classes-{sampleShape}", pixels, labels, sampleShape, classes);
    }

    /// <summary>
    /// The class prototypes (classes x C x H x W), which depend only on the seed: per channel, gaussian
    /// values on a grid of <see cref="CellSize"/>-pixel cells, bilinearly interpolated (smooth, so
    /// convolutional models see local structure), standardized to zero mean and unit RMS, then
    /// scaled so that the squared distance between prototypes does not grow with the pixel count.
    /// </summary>
    private static float[] Prototypes(int classes, InputShape shape, long seed)
    {
        var random = new DeterministicRandom(DeterministicRandom.Mix(seed, 1));
        var size = shape.Size;
        var amplitude = Math.Sqrt(SeparationEnergy * ContrastGain(classes) / size);
        var gridRows = (shape.Height - 1) / CellSize + 2;
        var gridColumns = (shape.Width - 1) / CellSize + 2;
        var grid = new double[gridRows * gridColumns];
        var values = new double[size];
        var prototypes = new float[classes * size];
        for (var k = 0; k < classes; k++)
        {
            for (var c = 0; c < shape.Channels; c++)
            {
                foreach (ref var g in grid.AsSpan())
                {
                    g = random.NextGaussian();
                }

                Interpolate(grid, gridColumns, values.AsSpan(c * shape.Height * shape.Width, shape.Height * shape.Width), shape.Height, shape.Width);
            }

            var mean = values.Average();
            var rms = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / size);
            var prototype = prototypes.AsSpan(k * size, size);
            for (var p = 0; p < size; p++)
            {
                var deviation = rms > 0 ? (values[p] - mean) / rms : 0;
                prototype[p] = (float)Math.Clamp(0.5 + amplitude * deviation, 0, 1);
            }
        }

        return prototypes;
    }

    /// <summary>Bilinear interpolation of a coarse grid (one point every <see cref="CellSize"/> pixels) onto a height x width plane.</summary>
    private static void Interpolate(double[] grid, int gridColumns, Span<double> plane, int height, int width)
    {
        for (var y = 0; y < height; y++)
        {
            var (row, fy) = (y / CellSize, (double)(y % CellSize) / CellSize);
            for (var x = 0; x < width; x++)
            {
                var (column, fx) = (x / CellSize, (double)(x % CellSize) / CellSize);
                var top = grid[row * gridColumns + column] * (1 - fx) + grid[row * gridColumns + column + 1] * fx;
                var bottom = grid[(row + 1) * gridColumns + column] * (1 - fx) + grid[(row + 1) * gridColumns + column + 1] * fx;
                plane[y * width + x] = top * (1 - fy) + bottom * fy;
            }
        }
    }
}
