namespace PeerDistill.Core.Spec;

/// <summary><c>evaluation</c>: when each peer is measured on held-out data.</summary>
public sealed record EvaluationSpec
{
    /// <summary><c>every_steps</c>: also evaluate every N steps (0 = only at epoch ends).</summary>
    public long EverySteps { get; init; }

    /// <summary><c>at_epoch_end</c>.</summary>
    public bool AtEpochEnd { get; init; } = true;

    /// <summary><c>batch_size</c> of evaluation.</summary>
    public int BatchSize { get; init; } = 500;
}
