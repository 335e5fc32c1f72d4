using PeerDistill.Torch;

namespace PeerDistill.Core.Strategies;

/// <summary>How a peer's loss is formed at one step: its teachers' logits and the loss settings.</summary>
public sealed record TeacherPlan(
    IReadOnlyList<Tensor> Teachers,
    double[] Weights,
    double Temperature,
    double Alpha,
    TeacherForm Form,
    LossCombination Combination,
    double LabelSmoothing)
{
    /// <summary>
    /// Weights per sample and teacher ([batch, teachers], rows summing to 1), used instead of
    /// <see cref="Weights"/> (which then hold their batch means); null for per-teacher weights. The
    /// step loop disposes it after the step.
    /// </summary>
    public Tensor? SampleWeights { get; init; }

    /// <summary>The mean weight of each teacher at this step (summing to 1), by teacher name, for the metrics; null when not reported.</summary>
    public IReadOnlyDictionary<string, double>? MeanWeights { get; init; }

    /// <summary>Cross-entropy alone.</summary>
    public static TeacherPlan None(double labelSmoothing) =>
        new(Array.Empty<Tensor>(), Array.Empty<double>(), 1.0, 0.0, TeacherForm.Pairwise, LossCombination.Additive, labelSmoothing);
}
