namespace PeerDistill.Api.Storage;

/// <summary>
/// One peer's metrics at one step. A training step and an evaluation at the same step may arrive
/// as two rows: stored together, each column keeping the first non-null value it was given (so a
/// row sent again changes nothing). NaN and infinities are stored as null.
/// </summary>
internal sealed record MetricRow(
    string Peer,
    long Step,
    DateTimeOffset Time,
    double? Loss = null,
    double? CrossEntropy = null,
    double? Distillation = null,
    double? Hint = null,
    double? LearningRate = null,
    double? SamplesPerSecond = null,
    double? Accuracy = null,
    double? EvalLoss = null);
