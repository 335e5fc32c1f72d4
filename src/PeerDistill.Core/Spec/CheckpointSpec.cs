namespace PeerDistill.Core.Spec;

/// <summary><c>checkpoints</c>.</summary>
public sealed record CheckpointSpec
{
    /// <summary><c>directory</c>: default &lt;output&gt;/checkpoints.</summary>
    public string? Directory { get; init; }

    /// <summary><c>every_steps</c>: 0 = only at the end (and on Ctrl-C).</summary>
    public long EverySteps { get; init; }

    /// <summary><c>keep_last</c>: checkpoints kept per peer.</summary>
    public int KeepLast { get; init; } = 2;
}
