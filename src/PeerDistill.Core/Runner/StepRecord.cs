namespace PeerDistill.Core.Runner;

/// <summary>What one peer did at one training step (a line of metrics.jsonl with type "step").</summary>
public sealed record StepRecord(
    string Run,
    string Peer,
    long Step,
    int Epoch,
    double Loss,
    double CrossEntropy,
    double Distillation,
    double LearningRate,
    double Alpha,
    int Teachers,
    double SamplesPerSecond,
    double ElapsedSeconds);
