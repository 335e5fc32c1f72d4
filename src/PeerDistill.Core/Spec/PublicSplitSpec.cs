namespace PeerDistill.Core.Spec;

/// <summary>
/// <c>data.public</c>: the public split of a federated run, held out of the training set (after
/// <c>train_subset</c> and <c>validation_split</c>) at random; every participant may see it, and
/// only logits computed on it cross the wire. Exactly one of <see cref="Fraction"/> and <see cref="Count"/>.
/// </summary>
public sealed record PublicSplitSpec
{
    /// <summary><c>fraction</c>: the share of the training images held out as the public split.</summary>
    public double Fraction { get; init; }

    /// <summary><c>count</c>: the number of training images held out as the public split.</summary>
    public int Count { get; init; }
}
