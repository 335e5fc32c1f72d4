namespace PeerDistill.Core.Runner;

/// <summary>
/// An evaluation of one peer (a line of metrics.jsonl with type "eval"); <paramref name="Final"/>
/// marks the test-set evaluation at the end of the run.
/// </summary>
public sealed record EvalRecord(string Run, string Peer, long Step, int Epoch, string Split, double Accuracy, double Loss, bool Final = false);
