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
    /// <summary>Cross-entropy alone.</summary>
    public static TeacherPlan None(double labelSmoothing) =>
        new(Array.Empty<Tensor>(), Array.Empty<double>(), 1.0, 0.0, TeacherForm.Pairwise, LossCombination.Additive, labelSmoothing);
}
