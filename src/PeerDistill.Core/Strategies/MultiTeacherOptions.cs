using PeerDistill.Torch;

namespace PeerDistill.Core.Strategies;

/// <summary>Options of multi-teacher distillation, from the spec's <c>distillation</c> section and its peers.</summary>
public sealed record MultiTeacherOptions(
    double Temperature,
    double Alpha,
    long AlphaWarmupSteps,
    TeacherForm Form,
    LossCombination Combination,
    double LabelSmoothing,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Teachers,
    IReadOnlyDictionary<string, double> Weights,
    TeacherWeighting Weighting,
    double WeightingTemperature,
    IReadOnlySet<string> Frozen);
