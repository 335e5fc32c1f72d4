namespace PeerDistill.Core.Spec;

/// <summary><c>checkpoints</c>.</summary>
public sealed record CheckpointSpec
{
    /// <summary><c>directory</c>: default &lt;output&gt;/checkpoints.</summary>
    public string? Directory { get; init; }

    /// <summary><c>every_steps</c>: checkpoint every N steps (and at the end, and on every stop). Default 500.</summary>
    public long EverySteps { get; init; } = 500;

    /// <summary><c>keep_last</c>: checkpoints kept per peer.</summary>
    public int KeepLast { get; init; } = 2;
}
