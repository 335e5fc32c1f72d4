namespace PeerDistill.Core.Runner;

/// <summary>The end of one peer's run.</summary>
public sealed record PeerOutcome(
    string Peer,
    string Model,
    PeerStatus Status,
    long StepsCompleted,
    double? TestAccuracy,
    double? TestLoss,
    double SamplesPerSecond,
    string? Message,
    long SamplesTrained = 0);
