using PeerDistill.Core.Data;
using PeerDistill.Core.Strategies;

namespace PeerDistill.Core.Runner;

/// <summary>The step plan of a peer: the one place that picks it from the data and the strategy.</summary>
public static class StepPlans
{
    public static IStepPlan For(CohortData data, IDistillationStrategy strategy, string peer)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(strategy);
        if (data.Federation is null)
        {
            return new EveryStepPlan(data);
        }

        if (strategy.Key == IndependentStrategy.StrategyKey)
        {
            return new FederatedStepPlan(data, peer, alone: true);
        }

        return strategy.Key == data.Federation.Strategy
            ? new FederatedStepPlan(data, peer, alone: false)
            : throw new ArgumentException($"strategy {strategy.Key} cannot run on the data of a {data.Federation.Strategy} run (data.public, data.partition)");
    }
}
