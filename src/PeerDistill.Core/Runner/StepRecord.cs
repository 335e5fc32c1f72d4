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
    double ElapsedSeconds)
{
    /// <summary>The mean weight of each teacher at this step (summing to 1), by name; null when the strategy reports none.</summary>
    public IReadOnlyDictionary<string, double>? TeacherWeights { get; init; }

    /// <summary>The hint term (unweighted MSE) at this step; null for a peer without one.</summary>
    public double? Hint { get; init; }

    /// <summary>The wall time of this step alone (seconds; not written to metrics.jsonl).</summary>
    public double StepSeconds { get; init; }

    /// <summary>The time this step waited for its teachers (seconds; null for a step that gathers nothing; not written to metrics.jsonl).</summary>
    public double? WaitSeconds { get; init; }
}
