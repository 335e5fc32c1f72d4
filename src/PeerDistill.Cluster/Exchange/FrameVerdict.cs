using Grpc.Core;

namespace PeerDistill.Cluster.Exchange;

/// <summary>What the receiving worker made of one frame.</summary>
/// <param name="Accepted">Whether the logits were kept.</param>
/// <param name="Code">The status code of a refusal (OK when accepted).</param>
/// <param name="Reason">Why it was refused, naming the sender; empty when accepted.</param>
/// <param name="HighestStep">The highest step accepted from this sender for this receiver (-1: none).</param>
/// <param name="Credit">How many more frames beyond <paramref name="HighestStep"/> the receiver takes before the sender must wait.</param>
/// <param name="Behind">The frame is older than the step the receiver is at: expected while a re-activated sender catches up.</param>
public readonly record struct FrameVerdict(bool Accepted, StatusCode Code, string Reason, long HighestStep, int Credit = 0, bool Behind = false);
