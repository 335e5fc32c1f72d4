using PeerDistill.Core.Exchange;

namespace PeerDistill.Core.Strategies;

/// <summary>Strategy <c>none</c>: every peer trains alone on cross-entropy (the baseline of a cohort).</summary>
public sealed class IndependentStrategy : IDistillationStrategy
{
    public const string StrategyKey = "none";

    private readonly double _labelSmoothing;

    public IndependentStrategy(double labelSmoothing = 0)
    {
        _labelSmoothing = labelSmoothing;
    }

    public string Key => StrategyKey;

    public bool Publishes(string peer) => false;

    public IReadOnlyList<string> Configure(string peer, long step) => Array.Empty<string>();

    public TeacherPlan Aggregate(string peer, long step, IReadOnlyList<TeacherLogits> arrived) => TeacherPlan.None(_labelSmoothing);
}
