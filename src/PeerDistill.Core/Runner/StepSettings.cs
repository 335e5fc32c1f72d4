using PeerDistill.Core.Spec;

namespace PeerDistill.Core.Runner;

/// <summary>
/// The settings a cohort's changes can touch, as they hold at one step: the spec's values with
/// every change up to that step applied (<see cref="CohortChange"/>).
/// </summary>
public sealed record StepSettings(
    double Alpha,
    long AlphaWarmupSteps,
    double Temperature,
    double LearningRateScale,
    long EvaluateEverySteps,
    bool EvaluateAtEpochEnd,
    long CheckpointEverySteps)
{
    /// <summary>The settings of <paramref name="spec"/> before any change.</summary>
    public static StepSettings From(CohortSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new StepSettings(
            spec.Distillation.Alpha,
            spec.Distillation.AlphaWarmupSteps,
            spec.Distillation.Temperature,
            1.0,
            spec.Evaluation.EverySteps,
            spec.Evaluation.AtEpochEnd,
            spec.Checkpoints.EverySteps);
    }

    /// <summary>These settings with <paramref name="change"/> applied.</summary>
    public StepSettings With(CohortChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return new StepSettings(
            change.Alpha ?? Alpha,
            change.AlphaWarmupSteps ?? AlphaWarmupSteps,
            change.Temperature ?? Temperature,
            change.LearningRateScale ?? LearningRateScale,
            change.EvaluationEverySteps ?? EvaluateEverySteps,
            change.EvaluationAtEpochEnd ?? EvaluateAtEpochEnd,
            change.CheckpointEverySteps ?? CheckpointEverySteps);
    }
}
