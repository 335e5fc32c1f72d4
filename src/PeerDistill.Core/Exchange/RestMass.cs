namespace PeerDistill.Core.Exchange;

/// <summary>How a receiver of top-k logits fills in the classes a row does not carry (<c>exchange.topk_rest</c>).</summary>
public enum RestMass
{
    /// <summary><c>uniform</c>: the mass 1 - (sum of the k probabilities) spread evenly over the other C - k classes.</summary>
    Uniform,

    /// <summary><c>drop</c>: the teacher's distribution renormalised over its k classes; the others get probability 0.</summary>
    Drop,
}
