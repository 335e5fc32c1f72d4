namespace PeerDistill.Core.Runner;

/// <summary>Settings of a peer's step loop that come from the spec rather than the peer.</summary>
public sealed record PeerLoopOptions(
    string Cohort,
    string Run,
    long EvaluateEverySteps,
    bool EvaluateAtEpochEnd,
    int EvaluationBatchSize,
    long CheckpointEverySteps);
