using PeerDistill.Core.Spec;

namespace PeerDistill.Cli;

/// <summary>What `peerdistill train` was asked to do.</summary>
internal sealed record TrainSettings
{
    public string Model { get; init; } = "cnn";

    public Dictionary<string, string> ModelOptions { get; init; } = new();

    public string Dataset { get; init; } = "fashion-mnist";

    public string? DataDirectory { get; init; }

    public int TrainSubset { get; init; }

    public int Epochs { get; init; } = 3;

    public int BatchSize { get; init; } = 128;

    public OptimizerSpec Optimizer { get; init; } = new();

    /// <summary>constant or cosine.</summary>
    public string Schedule { get; init; } = "constant";

    public int WarmupSteps { get; init; }

    public bool Augment { get; init; }

    public long Seed { get; init; }

    public int Threads { get; init; } = 1;

    public string Device { get; init; } = "cpu";

    public string? OutputDirectory { get; init; }
}
