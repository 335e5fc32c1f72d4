namespace PeerDistill.Core.Strategies;

/// <summary>How a multi-teacher student weights its teachers (<c>distillation.weighting</c>).</summary>
public enum TeacherWeighting
{
    /// <summary>Every teacher present weighs the same.</summary>
    Uniform,

    /// <summary>The spec's <c>distillation.weights</c>, normalized over the teachers present.</summary>
    Fixed,

    /// <summary>Per sample, softmax over teachers of minus the entropy of each teacher's prediction (lower entropy, larger weight).</summary>
    Entropy,

    /// <summary>Per sample, CA-MKD's (1 - softmax over teachers of each teacher's cross-entropy against the label) / (K - 1).</summary>
    Correctness,

    /// <summary>Per teacher, proportional to its accuracy on the evaluation set, measured once at the start.</summary>
    ValidationAccuracy,
}
