using PeerDistill.Torch;

namespace PeerDistill.Core.Exchange;

/// <summary>
/// How peers hand each other their logits, step by step. The embedded runner uses
/// <see cref="InMemoryLogitExchange"/>; distributed workers use the gRPC exchange. The step loop
/// (<see cref="Runner.PeerStepLoop"/>) is the same for both.
/// </summary>
public interface ILogitExchange
{
    /// <summary>Publishes <paramref name="peer"/>'s logits of <paramref name="step"/>. The exchange takes ownership of the tensor.</summary>
    void Publish(string peer, long step, Tensor logits);

    /// <summary>
    /// <paramref name="peer"/> leaves from <paramref name="step"/> on (it failed, or it finished);
    /// nobody waits for its logits of that step or later.
    /// </summary>
    void Withdraw(string peer, long step, string reason);

    /// <summary>
    /// Waits until each peer of <paramref name="from"/> has published <paramref name="step"/> or
    /// withdrawn, and returns the logits that were published (the caller disposes them).
    /// </summary>
    IReadOnlyList<TeacherLogits> Gather(string peer, long step, IReadOnlyList<string> from, CancellationToken cancellation);
}
