namespace PeerDistill.Core.Spec;

/// <summary>
/// <c>exchange</c>: how distributed peers exchange logits over the network. Exchange is synchronous:
/// at every step each peer waits for that step's logits of every live teacher. The embedded runner
/// hands logits over in memory; it checks these fields but does not use them.
/// </summary>
public sealed record ExchangeSpec
{
    /// <summary><c>wire_dtype</c>: <c>fp32</c> (exact) or <c>fp16</c> (half the bytes).</summary>
    public string WireDType { get; init; } = "fp32";

    /// <summary><c>step_timeout_seconds</c>: synchronous mode waits at most this long for a live teacher's logits before going on with the teachers present.</summary>
    public double StepTimeoutSeconds { get; init; } = 30;

    /// <summary><c>quorum</c>: the fewest teachers that must be present (live) for a peer to step while others are missing; below it the peer waits for them to come back.</summary>
    public int Quorum { get; init; } = 1;
}
