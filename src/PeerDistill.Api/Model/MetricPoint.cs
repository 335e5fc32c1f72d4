namespace PeerDistill.Api.Model;

/// <summary>One peer's metrics at one step, as the metrics history holds them (null where not recorded).</summary>
public sealed record MetricPoint(string Peer, long Step, DateTimeOffset Time, double? Loss, double? CrossEntropy, double? Distillation, double? Hint, double? LearningRate, double? SamplesPerSecond, double? Accuracy, double? EvalLoss);
