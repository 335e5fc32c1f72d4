using PeerDistill.Core.Exchange;

namespace PeerDistill.Core.Strategies;

/// <summary>
/// FedMD (Li and Wang 2019): after an optional transfer-learning warm-up on the labelled public
/// split, each round every participant computes logits on the round's public batches, the
/// consensus is the mean of all participants' logits (its own included, as in the paper's
/// aggregate), each digests it (distils towards it on the public batch) and then revisits its
/// private partition (cross-entropy). Models may differ. Which steps are which is the step plan's
/// (see <see cref="Runner.FederatedStepPlan"/>); this class forms the teacher.
/// </summary>
public sealed class FedMdStrategy : IDistillationStrategy
{
    public const string StrategyKey = "fedmd";

    private readonly FederatedOptions _options;
    private readonly ConsensusTeacher _consensus;

    public FedMdStrategy(FederatedOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _consensus = new ConsensusTeacher(options.Temperature, options.LabelSmoothing);
    }

    public string Key => StrategyKey;

    public bool Publishes(string peer) => _options.Participants.Contains(peer, StringComparer.Ordinal);

    /// <summary>Every other participant (the peer's own logits are added by the step loop at public steps).</summary>
    public IReadOnlyList<string> Configure(string peer, long step) =>
        _options.Participants.Contains(peer, StringComparer.Ordinal) ? _options.Participants.Where(p => p != peer).ToList() : Array.Empty<string>();

    public TeacherPlan Aggregate(string peer, long step, IReadOnlyList<TeacherLogits> arrived) => _consensus.For(peer, arrived);
}
