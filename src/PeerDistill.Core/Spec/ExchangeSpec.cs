namespace PeerDistill.Core.Spec;

/// <summary>
/// <c>exchange</c>: how peers exchange logits, in memory (embedded) or over gRPC (distributed):
/// both follow <see cref="Exchange.ExchangePolicy"/> (mode, staleness, step timeout, quorum); the
/// wire precision and the logit bound also apply to frames on the network.
/// </summary>
public sealed record ExchangeSpec
{
    /// <summary>Every peer waits, each step, for that step's logits of every live teacher.</summary>
    public const string Synchronous = "synchronous";

    /// <summary>
    /// Codistillation-style (Anil et al. 2018): a peer never waits; for each teacher it uses the
    /// freshest logits that teacher has sent, at most <see cref="MaxStaleness"/> steps old, and distils
    /// on the batch those logits were computed on (one extra forward pass per stale step).
    /// </summary>
    public const string BoundedStaleness = "bounded-staleness";

    /// <summary><c>mode</c>: <see cref="Synchronous"/> or <see cref="BoundedStaleness"/>.</summary>
    public string Mode { get; init; } = Synchronous;

    /// <summary><c>max_staleness</c>: bounded-staleness mode uses teacher logits at most this many steps old.</summary>
    public int MaxStaleness { get; init; } = 2;

    /// <summary><c>wire_dtype</c>: <c>fp32</c> (exact) or <c>fp16</c> (half the bytes).</summary>
    public string WireDType { get; init; } = "fp32";

    /// <summary><c>step_timeout_seconds</c>: synchronous mode waits at most this long for a live teacher's logits before going on with the teachers present.</summary>
    public double StepTimeoutSeconds { get; init; } = 30;

    /// <summary><c>quorum</c>: the fewest teachers that must be present (live) for a peer to step while others are missing; below it the peer waits for them to come back.</summary>
    public int Quorum { get; init; } = 1;

    /// <summary>
    /// <c>max_abs_logit</c>: the largest logit magnitude a peer may produce. A peer whose logits
    /// exceed it has diverged and leaves the cohort, as it does with NaN logits; a frame carrying
    /// one is refused. Default 1e6 (trained classifiers stay within a few hundred).
    /// </summary>
    public double MaxAbsLogit { get; init; } = 1e6;
}
