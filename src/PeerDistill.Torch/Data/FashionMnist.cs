namespace PeerDistill.Torch.Data;

/// <summary>
/// Loads Fashion-MNIST (Zalando's 28x28 grayscale clothing images, 60,000 train and 10,000 test,
/// 10 classes) from its IDX files, gzip-compressed or not. On Debian the package
/// dataset-fashion-mnist installs them in <see cref="DefaultDirectory"/>.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package dataset-fashion-mnist puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Number of classes.</summary>
    public const int ClassCount = 10;

    private const string PackageHint = "the Debian package dataset-fashion-mnist provides it (apt-get install dataset-fashion-mnist)";

    /// <summary>Class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Whether all four IDX files are present in <paramref name="directory"/> (default <see cref="DefaultDirectory"/>).</summary>
    public static bool IsAvailable(string? directory = null)
    {
        var dir = directory ?? DefaultDirectory;
        var (trainImages, trainLabels) = FileNames(train: true);
        var (testImages, testLabels) = FileNames(train: false);
        return new[] { trainImages, trainLabels, testImages, testLabels }.All(name => Find(dir, name) is not null);
    }

    /// <summary>
    /// Loads the training (60,000 images) or test (10,000 images) split. Pixels are scaled to [0, 1].
    /// </summary>
    /// <param name="directory">Folder holding the IDX files; null for <see cref="DefaultDirectory"/>.</param>
    /// <param name="train">True for the training split, false for the test split.</param>
    /// <exception cref="FileNotFoundException">A file is missing (neither compressed nor plain).</exception>
    /// <exception cref="InvalidDataException">A file is malformed, or images and labels disagree.</exception>
    public static InMemoryDataset Load(string? directory = null, bool train = true)
    {
        var dir = directory ?? DefaultDirectory;
        var (imagesName, labelsName) = FileNames(train);
        var imagesPath = Require(dir, imagesName);
        var labelsPath = Require(dir, labelsName);

        var images = IdxReader.ReadImages(imagesPath);
        var labelBytes = IdxReader.ReadLabels(labelsPath);
        if (images.Count != labelBytes.Length)
        {
            throw new InvalidDataException(
                $"images/labels count mismatch: {imagesPath} holds {images.Count} images but {labelsPath} holds {labelBytes.Length} labels");
        }

        var labels = new int[labelBytes.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            if (labelBytes[i] >= ClassCount)
            {
                throw new InvalidDataException($"IDX file {labelsPath}: label {labelBytes[i]} of sample {i} is outside 0..{ClassCount - 1}");
            }

            labels[i] = labelBytes[i];
        }

        var pixels = new float[images.Pixels.Length];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = images.Pixels[i] * (1f / 255f);
        }

        var name = train ? "fashion-mnist-train" : "fashion-mnist-test";
        return new InMemoryDataset(name, pixels, labels, new InputShape(1, images.Rows, images.Columns), ClassCount);
    }

    private static (string Images, string Labels) FileNames(bool train)
    {
        var prefix = train ? "train" : "t10k";
        return ($"{prefix}-images-idx3-ubyte", $"{prefix}-labels-idx1-ubyte");
    }

    /// <summary>The compressed file if present, else the plain one, else null.</summary>
    private static string? Find(string directory, string name)
    {
        var compressed = Path.Combine(directory, name + ".gz");
        if (File.Exists(compressed))
        {
            return compressed;
        }

        var plain = Path.Combine(directory, name);
        return File.Exists(plain) ? plain : null;
    }

    private static string Require(string directory, string name)
    {
        var compressed = Path.Combine(directory, name + ".gz");
        return Find(directory, name) ?? throw new FileNotFoundException(
            $"Fashion-MNIST file not found: {compressed} (or {Path.Combine(directory, name)}); {PackageHint}, or pass the folder that holds the IDX files",
            compressed);
    }
}
