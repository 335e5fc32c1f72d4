namespace PeerDistill.Core.Spec;

/// <summary>
/// <c>tracing</c>: which training steps become traces when the process exports traces (see
/// docs/observability.md). Unset fields take the process's defaults (<see cref="Telemetry.TraceSampling"/>).
/// </summary>
public sealed record TracingSpec
{
    /// <summary><c>every_steps</c>: trace every Nth step of every peer (the same steps on all peers, so that a learner's wait links to its teachers' publish spans); 0 = none.</summary>
    public long? EverySteps { get; init; }

    /// <summary><c>slower_than_ms</c>: also trace every step slower than this many milliseconds (its spans made from the times the loop took when it ended); 0 = none.</summary>
    public double? SlowerThanMs { get; init; }
}
