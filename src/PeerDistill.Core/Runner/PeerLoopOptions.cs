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

    /// <summary>The options of one run of <paramref name="spec"/>.</summary>
    public static PeerLoopOptions For(Spec.CohortSpec spec, string run)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new PeerLoopOptions(spec.Cohort, run, spec.Evaluation.EverySteps, spec.Evaluation.AtEpochEnd, spec.Evaluation.BatchSize, spec.Checkpoints.EverySteps, spec.Exchange.MaxAbsLogit)
        {
            Settings = StepSettings.From(spec),
            Changes = spec.Changes,
        };
    }
}
