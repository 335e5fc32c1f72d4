namespace PeerDistill.Core.Runner;

/// <summary>Settings of a peer's step loop that come from the spec rather than the peer.</summary>
public sealed record PeerLoopOptions(
    string Cohort,
    string Run,
    long EvaluateEverySteps,
    bool EvaluateAtEpochEnd,
    int EvaluationBatchSize,
    long CheckpointEverySteps,
    double MaxAbsLogit)
{
    /// <summary>The settings that changes can touch, before any change (the spec's); null in options built by hand: the loop then changes nothing.</summary>
    public StepSettings? Settings { get; init; }

    /// <summary>The spec's <c>changes</c>, applied by the loop each at the start of its step.</summary>
    public IReadOnlyList<Spec.CohortChange> Changes { get; init; } = [];

    /// <summary>Which steps are traced (when anything listens): the spec's <c>tracing</c> over the process's defaults.</summary>
    public Telemetry.TraceSampling Tracing { get; init; } = Telemetry.TraceSampling.Default;

    /// <summary>The context the peer's activation span is a child of (the run's span); none: a trace of its own.</summary>
    public System.Diagnostics.ActivityContext TraceParent { get; init; }

    /// <summary>The activation generation of the peer (distributed; 0 embedded).</summary>
    public ulong Generation { get; init; }

    /// <summary>The options of one run of <paramref name="spec"/> (steps traced: the spec's over <paramref name="tracing"/>, default <see cref="Telemetry.TraceSampling.Default"/>).</summary>
    public static PeerLoopOptions For(Spec.CohortSpec spec, string run, Telemetry.TraceSampling? tracing = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new PeerLoopOptions(spec.Cohort, run, spec.Evaluation.EverySteps, spec.Evaluation.AtEpochEnd, spec.Evaluation.BatchSize, spec.Checkpoints.EverySteps, spec.Exchange.MaxAbsLogit)
        {
            Settings = StepSettings.From(spec),
            Changes = spec.Changes,
            Tracing = (tracing ?? Telemetry.TraceSampling.Default).With(spec.Tracing),
        };
    }
}
