namespace PeerDistill.Core.Strategies;

/// <summary>Options of the federated strategies (fedmd, feddf), from the spec's <c>distillation</c> section.</summary>
/// <param name="Participants">The peers with private data, in spec order.</param>
/// <param name="Server">feddf's server; null for fedmd.</param>
/// <param name="Temperature">T of the distillation term T^2 * KL(softmax(consensus / T) || softmax(student / T)).</param>
/// <param name="LabelSmoothing">Label smoothing of the cross-entropy steps (warm-up and private).</param>
public sealed record FederatedOptions(
    IReadOnlyList<string> Participants,
    string? Server,
    double Temperature,
    double LabelSmoothing);
