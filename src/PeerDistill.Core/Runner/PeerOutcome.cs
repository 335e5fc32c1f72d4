namespace PeerDistill.Core.Runner;

/// <summary>The end of one peer's run; <see cref="CheckpointStep"/> is the step of the checkpoint written on the way out of an interrupted run (null if none).</summary>
public sealed record PeerOutcome(
    string Peer,
    string Model,
    PeerStatus Status,
    long StepsCompleted,
    double? TestAccuracy,
    double? TestLoss,
    double SamplesPerSecond,
    string? Message,
    long SamplesTrained = 0)
{
    public long? CheckpointStep { get; init; }

    /// <summary>The mean weight of each teacher over this run's steps (<see cref="TeacherWeightTally"/>); null when none were reported.</summary>
    public IReadOnlyDictionary<string, double>? TeacherWeights { get; init; }
}
