using PeerDistill.Core.Data;
using PeerDistill.Torch.Data;

namespace PeerDistill.Core.Runner;

/// <summary>
/// Deep mutual learning and training alone: the peer runs every step on the cohort's shared batch
/// order, publishes when anyone learns from it, and gathers its teachers at every step.
/// </summary>
public sealed class EveryStepPlan : IStepPlan
{
    private readonly CohortData _data;
    private readonly BatchBuilder _builder;

    public EveryStepPlan(CohortData data)
    {
        _data = data ?? throw new ArgumentNullException(nameof(data));
        _builder = data.NewBuilder();
    }

    public long TotalSteps => _data.TotalSteps;

    public long NextAtOrAfter(long step) => Math.Min(step, TotalSteps);

    public PlannedStep At(long step)
    {
        var (epoch, batchIndex) = _data.Sampler.Locate(step);
        return new PlannedStep(_data.Sampler, _builder, epoch, batchIndex, epoch, Publish: true, Gather: true, IncludeSelf: false, Train: true);
    }

    public long? LastEpochEndIn(long after, long upTo)
    {
        var last = upTo / _data.StepsPerEpoch * _data.StepsPerEpoch;
        return last > after && last > 0 ? last : null;
    }

    public int EpochAfter(long completedSteps) => (int)(completedSteps / _data.StepsPerEpoch);
}
