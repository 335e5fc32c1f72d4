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

    /// <summary><c>wire_dtype</c> fp32: the logits as they are, 4 bytes each.</summary>
    public const string WireFp32 = "fp32";

    /// <summary><c>wire_dtype</c> fp16: the logits rounded to half precision, 2 bytes each.</summary>
    public const string WireFp16 = "fp16";

    /// <summary><c>wire_dtype</c> topk: per row, the <see cref="TopK"/> largest log-probabilities (T = 1) and their classes.</summary>
    public const string WireTopK = "topk";

    /// <summary><c>topk_rest</c> uniform: the rest of a row's mass spread evenly over the classes it does not carry.</summary>
    public const string RestUniform = "uniform";

    /// <summary><c>topk_rest</c> drop: a row renormalised over the classes it carries; the others get probability 0.</summary>
    public const string RestDrop = "drop";

    /// <summary>
    /// <c>wire_dtype</c>: <c>fp32</c> (exact), <c>fp16</c> (half the bytes) or <c>topk</c> (k values
    /// and classes per row). fp16 and topk are lossy, and applied alike by every exchange, the
    /// embedded one included (<see cref="Exchange.LogitWireFormat"/>).
    /// </summary>
    public string WireDType { get; init; } = WireFp32;

    /// <summary><c>topk</c>: wire_dtype topk only: the classes kept per row, 1 &lt;= k &lt; the data set's classes.</summary>
    public int TopK { get; init; } = 8;

    /// <summary><c>topk_rest</c>: wire_dtype topk only: <c>uniform</c> or <c>drop</c> (<see cref="Exchange.RestMass"/>).</summary>
    public string TopKRest { get; init; } = RestUniform;

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
