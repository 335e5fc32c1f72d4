namespace PeerDistill.Api.Rest;

/// <summary>One peer's metrics at one step (null where the peer did not record the value at that step).</summary>
/// <param name="Peer">The peer.</param>
/// <param name="Step">The step (0-based).</param>
/// <param name="Time">When the coordinator recorded it.</param>
/// <param name="Loss">The total training loss of the step.</param>
/// <param name="Ce">Its cross-entropy term.</param>
/// <param name="Kd">Its distillation (KL) term.</param>
/// <param name="Hint">Its hint term, for a peer with one.</param>
/// <param name="Lr">The learning rate of the step.</param>
/// <param name="SamplesPerS">Training throughput at the step.</param>
/// <param name="Accuracy">Test accuracy, where the peer was evaluated after this step.</param>
/// <param name="EvalLoss">Test loss of that evaluation.</param>
public sealed record MetricPointResource(string Peer, long Step, DateTimeOffset Time, double? Loss, double? Ce, double? Kd, double? Hint, double? Lr, double? SamplesPerS, double? Accuracy, double? EvalLoss);
