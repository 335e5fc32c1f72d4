using PeerDistill.Torch;

namespace PeerDistill.Core.Exchange;

/// <summary>One peer's logits for one step, as received by another peer. The receiver disposes it.</summary>
public sealed record TeacherLogits(string Peer, long Step, Tensor Logits) : IDisposable
{
    /// <summary>The context of the teacher's publish span of these logits, when that step was traced (a learner's wait links to it); default otherwise.</summary>
    public System.Diagnostics.ActivityContext Origin { get; init; }

    public void Dispose() => Logits.Dispose();
}
