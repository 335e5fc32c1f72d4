using System.Collections.Concurrent;
using PeerDistill.Core.Exchange;
using PeerDistill.Torch;

namespace PeerDistill.Core.Strategies;

/// <summary>
/// The teacher of the federated strategies: one target, the unweighted mean of the logits that
/// arrived (FedMD's consensus, FedDF's AVGLOGITS), distilled on its own: loss = T^2 * KL(softmax(mean / T) || softmax(student / T)),
/// no cross-entropy (the public split's labels are not used). Holds each peer's latest consensus
/// until that peer's next one (the step loop disposes what arrived, not what was built from it).
/// </summary>
internal sealed class ConsensusTeacher(double temperature, double labelSmoothing)
{
    private readonly ConcurrentDictionary<string, Tensor> _latest = new(StringComparer.Ordinal);

    public TeacherPlan For(string peer, IReadOnlyList<TeacherLogits> arrived)
    {
        if (arrived.Count == 0)
        {
            return TeacherPlan.None(labelSmoothing);
        }

        var mean = Tensor.WeightedMean(arrived.Select(t => t.Logits).ToList(), ReadOnlySpan<double>.Empty);
        if (_latest.TryRemove(peer, out var previous))
        {
            previous.Dispose();
        }

        _latest[peer] = mean;
        return new TeacherPlan([mean], [1.0], temperature, 1.0, TeacherForm.Pairwise, LossCombination.Convex, labelSmoothing);
    }
}
