using PeerDistill.Core.Spec;

namespace PeerDistill.Cluster.Cohorts;

/// <summary>The serialized form of a <see cref="CohortChange"/> (a Core record without Orleans attributes) in grain state and calls.</summary>
[GenerateSerializer, Immutable]
public struct CohortChangeSurrogate
{
    [Id(0)] public long Step;
    [Id(1)] public double? Alpha;
    [Id(2)] public long? AlphaWarmupSteps;
    [Id(3)] public double? Temperature;
    [Id(4)] public double? LearningRateScale;
    [Id(5)] public long? EvaluationEverySteps;
    [Id(6)] public bool? EvaluationAtEpochEnd;
    [Id(7)] public long? CheckpointEverySteps;
}
