using PeerDistill.Core.Data;
using PeerDistill.Torch.Data;

namespace PeerDistill.Core.Runner;

/// <summary>
/// The steps of one peer of a federated run (see <see cref="FederatedPlan"/> for the round layout).
/// A participant runs public steps on the shared public split and private steps on a copy of its
/// own partition only, and skips every other index; feddf's server runs only the public steps.
/// </summary>
/// <remarks>
/// fedmd: warm-up steps are cross-entropy on labelled public batches; a round's public steps
/// publish, gather every other participant and distil towards the consensus (the mean of all
/// participants' logits, its own included); private steps are cross-entropy on the partition.
/// feddf: a client's private steps are local training; at the public steps it publishes its
/// logits (evaluation mode, no update), and at the round's last public step it also waits for the
/// server's logits of that step (a barrier: it starts the next round only once the server has
/// reached the end of this one, so no client runs a round ahead of the server). The server
/// gathers every client at each public step and distils towards their averaged logits; it
/// publishes only at the barrier step. Trained alone (the baseline), a participant runs the same
/// warm-up and private steps and nothing else, and the server runs none.
/// </remarks>
public sealed class FederatedStepPlan : IStepPlan
{
    private readonly FederatedPlan _plan;
    private readonly int _participant;
    private readonly bool _alone;
    private readonly bool _fedDf;
    private readonly BatchBuilder _publicBuilder;
    private readonly BatchSampler? _privateSampler;
    private readonly BatchBuilder? _privateBuilder;

    /// <param name="data">The run's data (with its federation).</param>
    /// <param name="peer">The peer this plan is of.</param>
    /// <param name="alone">The peer trains alone (the baseline): no public steps of the rounds, no exchange.</param>
    public FederatedStepPlan(CohortData data, string peer, bool alone)
    {
        ArgumentNullException.ThrowIfNull(data);
        _plan = data.Federation ?? throw new ArgumentException("the data has no federation (data.public, data.partition)", nameof(data));
        _participant = _plan.ParticipantIndex(peer);
        _alone = alone;
        _fedDf = _plan.Strategy == FederatedPlan.FedDf;
        _publicBuilder = new BatchBuilder(_plan.Public, data.Normalization, data.Augmentation, DeterministicRandom.Mix(data.Spec.Seed, 22));
        if (_participant >= 0)
        {
            var own = _plan.PrivateData(_participant);
            _privateSampler = new BatchSampler(own.Count, _plan.BatchSize, DeterministicRandom.Mix(data.Spec.Seed, 23, _participant), shuffle: true, dropLast: false);
            _privateBuilder = new BatchBuilder(own, data.Normalization, data.Augmentation, DeterministicRandom.Mix(data.Spec.Seed, 24, _participant));
        }
    }

    public long TotalSteps => _plan.TotalSteps;

    /// <summary>The images of this peer's own partition (none for the server).</summary>
    public int PrivateCount => _privateSampler?.DatasetCount ?? 0;

    public long NextAtOrAfter(long step)
    {
        for (var s = Math.Max(0, step); s < TotalSteps; s++)
        {
            if (Runs(s))
            {
                return s;
            }

            // Jump over the rest of a round's indices this peer has nothing to do at.
            if (s >= _plan.WarmupSteps && NextInRound(s) is { } next)
            {
                s = next - 1;
            }
        }

        return TotalSteps;
    }

    public PlannedStep At(long step)
    {
        var round = _plan.RoundNumberAt(step);
        if (step < _plan.WarmupSteps && _participant >= 0)
        {
            var (e, b) = _plan.PublicSampler.Locate(step);
            return new PlannedStep(_plan.PublicSampler, _publicBuilder, e, b, round, Publish: false, Gather: false, IncludeSelf: false, Train: true);
        }

        if (_participant >= 0 && _plan.PrivateIndexAt(_participant, step) is { } m)
        {
            var (e, b) = _privateSampler!.Locate(m);
            return new PlannedStep(_privateSampler, _privateBuilder!, e, b, round, Publish: false, Gather: false, IncludeSelf: false, Train: true);
        }

        if (!_alone && _plan.PublicIndexAt(step) is { } k)
        {
            var (e, b) = _plan.PublicSampler.Locate(k);
            if (!_fedDf)
            {
                return new PlannedStep(_plan.PublicSampler, _publicBuilder, e, b, round, Publish: true, Gather: true, IncludeSelf: true, Train: true);
            }

            var barrier = _plan.IsLastPublicOfRound(step);
            return _participant >= 0
                ? new PlannedStep(_plan.PublicSampler, _publicBuilder, e, b, round, Publish: true, Gather: barrier, IncludeSelf: false, Train: false)
                : new PlannedStep(_plan.PublicSampler, _publicBuilder, e, b, round, Publish: barrier, Gather: true, IncludeSelf: false, Train: true);
        }

        throw new ArgumentOutOfRangeException(nameof(step), step, "this peer runs nothing at that step");
    }

    public long? LastEpochEndIn(long after, long upTo)
    {
        // Rounds end at W + k * R (k = 1..rounds), and the warm-up at W.
        var (w, r) = (_plan.WarmupSteps, _plan.RoundLength);
        var k = upTo < w ? 0 : Math.Min(_plan.Rounds, (upTo - w) / r);
        if (k >= 1 && w + (k * r) > after)
        {
            return w + (k * r);
        }

        return w > 0 && w <= upTo && w > after ? w : null;
    }

    public int EpochAfter(long completedSteps) =>
        completedSteps <= _plan.WarmupSteps ? 0 : (int)Math.Min(_plan.Rounds, (completedSteps - _plan.WarmupSteps) / _plan.RoundLength);

    private bool Runs(long step)
    {
        if (step < _plan.WarmupSteps)
        {
            return _participant >= 0;
        }

        if (_participant >= 0 && _plan.PrivateIndexAt(_participant, step) is not null)
        {
            return true;
        }

        return !_alone && _plan.PublicIndexAt(step) is not null;
    }

    /// <summary>The next index after <paramref name="step"/> in its round where this peer may have something to do (a phase start), or the next round's start.</summary>
    private long? NextInRound(long step)
    {
        var start = _plan.WarmupSteps + ((step - _plan.WarmupSteps) / _plan.RoundLength * _plan.RoundLength);
        var candidates = new List<long> { start + _plan.RoundLength };
        var publicFirst = _fedDf ? _plan.LongestLocal : 0;
        var privateFirst = _fedDf ? 0 : _plan.PublicBatches;
        candidates.Add(start + publicFirst);
        candidates.Add(start + privateFirst);
        var later = candidates.Where(c => c > step).ToList();
        return later.Count == 0 ? null : later.Min();
    }
}
