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
    /// <summary>The options of one run of <paramref name="spec"/>.</summary>
    public static PeerLoopOptions For(Spec.CohortSpec spec, string run)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new PeerLoopOptions(spec.Cohort, run, spec.Evaluation.EverySteps, spec.Evaluation.AtEpochEnd, spec.Evaluation.BatchSize, spec.Checkpoints.EverySteps, spec.Exchange.MaxAbsLogit);
    }
}
