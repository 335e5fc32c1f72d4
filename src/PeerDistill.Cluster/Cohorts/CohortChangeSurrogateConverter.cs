using PeerDistill.Core.Spec;

namespace PeerDistill.Cluster.Cohorts;

/// <summary>Maps <see cref="CohortChange"/> to and from <see cref="CohortChangeSurrogate"/>, field by field.</summary>
[RegisterConverter]
public sealed class CohortChangeSurrogateConverter : IConverter<CohortChange, CohortChangeSurrogate>
{
    public CohortChange ConvertFromSurrogate(in CohortChangeSurrogate surrogate) => new()
    {
        Step = surrogate.Step,
        Alpha = surrogate.Alpha,
        AlphaWarmupSteps = surrogate.AlphaWarmupSteps,
        Temperature = surrogate.Temperature,
        LearningRateScale = surrogate.LearningRateScale,
        EvaluationEverySteps = surrogate.EvaluationEverySteps,
        EvaluationAtEpochEnd = surrogate.EvaluationAtEpochEnd,
        CheckpointEverySteps = surrogate.CheckpointEverySteps,
    };

    public CohortChangeSurrogate ConvertToSurrogate(in CohortChange value) => new()
    {
        Step = value.Step,
        Alpha = value.Alpha,
        AlphaWarmupSteps = value.AlphaWarmupSteps,
        Temperature = value.Temperature,
        LearningRateScale = value.LearningRateScale,
        EvaluationEverySteps = value.EvaluationEverySteps,
        EvaluationAtEpochEnd = value.EvaluationAtEpochEnd,
        CheckpointEverySteps = value.CheckpointEverySteps,
    };
}
