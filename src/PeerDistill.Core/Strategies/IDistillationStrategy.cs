using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Torch;

namespace PeerDistill.Core.Strategies;

/// <summary>
/// A distillation strategy, in two steps per peer and step (as Flower's strategies configure and
/// aggregate a round): <see cref="Configure"/> says whose logits the peer needs, and
/// <see cref="Aggregate"/> turns the logits that arrived into the peer's teacher. Peers that are
/// missing (failed, or slower than the exchange allows) are simply absent from what arrived.
/// </summary>
public interface IDistillationStrategy
{
    /// <summary>The strategy's key in specs (<c>distillation.strategy</c>).</summary>
    string Key { get; }

    /// <summary>Whether any peer learns from <paramref name="peer"/>, so that it must publish its logits.</summary>
    bool Publishes(string peer);

    /// <summary>The peers whose logits of <paramref name="step"/> <paramref name="peer"/> needs (empty: none).</summary>
    IReadOnlyList<string> Configure(string peer, long step);

    /// <summary>The teacher and loss settings of <paramref name="peer"/> at <paramref name="step"/>.</summary>
    TeacherPlan Aggregate(string peer, long step, IReadOnlyList<TeacherLogits> arrived);

    /// <summary>
    /// Like <see cref="Aggregate(string, long, IReadOnlyList{TeacherLogits})"/>, with the labels of
    /// the peer's batch (int64 [batch]), for strategies that weigh teachers by them. The step loop calls this one.
    /// </summary>
    TeacherPlan Aggregate(string peer, long step, IReadOnlyList<TeacherLogits> arrived, Tensor labels) => Aggregate(peer, step, arrived);

    /// <summary>
    /// Called by every peer's step loop before its first step, with the cohort's data: a strategy
    /// that measures something once (the teachers' accuracies) does it here, once per process. Default: nothing.
    /// </summary>
    void Prepare(CohortData data)
    {
    }
}
