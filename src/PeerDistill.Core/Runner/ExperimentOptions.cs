namespace PeerDistill.Core.Runner;

/// <summary>How `peerdistill run` was asked to run a spec.</summary>
public sealed record ExperimentOptions
{
    /// <summary>Continue from the latest common checkpoints instead of starting over.</summary>
    public bool Resume { get; init; }

    /// <summary>Also train the same peers with the same seeds without distillation, to measure the gain.</summary>
    public bool Baseline { get; init; }

    /// <summary>Overrides the spec's output directory.</summary>
    public string? Output { get; init; }
}
