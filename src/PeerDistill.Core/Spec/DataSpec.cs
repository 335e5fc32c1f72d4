namespace PeerDistill.Core.Spec;

/// <summary><c>data</c>: what every peer trains on, batch by batch in the same order.</summary>
public sealed record DataSpec
{
    /// <summary><c>dataset</c>: fashion-mnist or synthetic.</summary>
    public string Dataset { get; init; } = "fashion-mnist";

    /// <summary><c>path</c>: directory of the data set's files (fashion-mnist default /usr/share/datasets/fashion-mnist).</summary>
    public string? Path { get; init; }

    /// <summary><c>batch_size</c>.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary><c>epochs</c>.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary><c>train_subset</c>: train on this many images drawn at random (0 = all).</summary>
    public int TrainSubset { get; init; }

    /// <summary><c>validation_split</c>: fraction of the training images held out for validation (0 = none; evaluation then uses the test set).</summary>
    public double ValidationSplit { get; init; }

    /// <summary><c>seed</c>: batch order, subset and augmentation. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary><c>augmentation.crop_padding</c>.</summary>
    public int CropPadding { get; init; }

    /// <summary><c>augmentation.horizontal_flip</c>.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary><c>synthetic.train_count</c> (synthetic only).</summary>
    public int SyntheticTrainCount { get; init; } = 4000;

    /// <summary><c>synthetic.test_count</c> (synthetic only).</summary>
    public int SyntheticTestCount { get; init; } = 1000;

    /// <summary><c>synthetic.noise</c> (synthetic only).</summary>
    public double SyntheticNoise { get; init; } = 0.5;

    /// <summary><c>synthetic.classes</c> (synthetic only).</summary>
    public int SyntheticClasses { get; init; } = 10;

    /// <summary>
    /// Shape of a synthetic sample (synthetic only); null for 1x28x28. Set from code (the GPU
    /// benchmark's CIFAR-10-shaped 3x32x32), not a spec field.
    /// </summary>
    public PeerDistill.Torch.InputShape? SyntheticShape { get; init; }

    /// <summary><c>partition</c>: how a federated run splits the private images over its participants; null for the other strategies.</summary>
    public PartitionSpec? Partition { get; init; }

    /// <summary><c>public</c>: the public split of a federated run; null for the other strategies.</summary>
    public PublicSplitSpec? Public { get; init; }
}
