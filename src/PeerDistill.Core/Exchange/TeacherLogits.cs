using PeerDistill.Torch;

namespace PeerDistill.Core.Exchange;

/// <summary>One peer's logits for one step, as received by another peer. The receiver disposes it.</summary>
public sealed record TeacherLogits(string Peer, long Step, Tensor Logits) : IDisposable
{
    public void Dispose() => Logits.Dispose();
}
