using PeerDistill.Torch;

namespace PeerDistill.Core.Strategies;

/// <summary>Options of deep mutual learning, from the spec's <c>distillation</c> section.</summary>
public sealed record DmlOptions(
    double Temperature,
    double Alpha,
    long AlphaWarmupSteps,
    TeacherForm Form,
    LossCombination Combination,
    double LabelSmoothing,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Teachers,
    IReadOnlyDictionary<string, double> Weights);
