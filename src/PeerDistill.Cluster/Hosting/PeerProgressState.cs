using System.Globalization;
using PeerDistill.Cluster.Cohorts;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Core.Runner;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// The latest of what a hosted peer did, as its peer grain reports it to the cohort: its state,
/// progress and message, and, while it waits for its teachers (<paramref name="waitOf"/>), at which
/// step and for how long; a wait longer than <see cref="ExchangeSettings.StallWarningAfter"/> makes
/// an active peer STALLED, its message naming what it waits for.
/// </summary>
internal sealed class PeerProgressState(string peer, ulong generation, long totalSteps, Func<GatherWait?> waitOf, TimeProvider time) : ICohortObserver
{
    private readonly object _gate = new();
    private PeerState _state = PeerState.Pending;
    private long _step;
    private double _loss;
    private double? _accuracy;
    private string _message = string.Empty;
    private long? _checkpointStep;

    // Step and wait times of the steps since the last report, and the means the last report gave.
    private double _stepSum;
    private double _waitSum;
    private int _steps;
    private int _waits;
    private double? _stepMean;
    private double? _waitMean;

    /// <summary>The report of this generation, as from <paramref name="silo"/>.</summary>
    public PeerReport Snapshot(string silo)
    {
        var wait = waitOf();
        lock (_gate)
        {
            var live = States.IsLive(_state);
            var waited = live && wait is not null ? Math.Max(0, (time.GetUtcNow().UtcDateTime - wait.Since).TotalSeconds) : 0;
            var stalled = live && wait is not null && waited >= ExchangeSettings.StallWarningAfter.TotalSeconds;
            if (_steps > 0)
            {
                _stepMean = _stepSum / _steps;
                _waitMean = _waits > 0 ? _waitSum / _waits : null;
                (_stepSum, _waitSum, _steps, _waits) = (0, 0, 0, 0);
            }

            return new PeerReport
            {
                Peer = peer,
                Generation = generation,
                Silo = silo,
                State = stalled ? PeerState.Stalled : _state,
                Step = _step,
                TotalSteps = totalSteps,
                Loss = _loss,
                Accuracy = _accuracy,
                Message = stalled ? Waiting(wait!, waited) : _message,
                CheckpointStep = _checkpointStep,
                WaitingAtStep = live && wait is { Published: true } ? wait.Step : null,
                WaitedSeconds = waited,
                StepSeconds = _stepMean,
                ExchangeWaitSeconds = _waitMean,
            };
        }
    }

    /// <summary>What a peer that waits says: for how long, at which step, for whom.</summary>
    private static string Waiting(GatherWait wait, double seconds) =>
        string.Create(CultureInfo.InvariantCulture, $"waiting {seconds:0} s at step {wait.Step} for {string.Join("; ", wait.Teachers)}");

    public PeerState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The peer starts (or resumes) at <paramref name="step"/>.</summary>
    public void StartAt(long step)
    {
        lock (_gate)
        {
            _step = step;
        }
    }

    public void Set(PeerState state, string message, double? accuracy = null, long? checkpointStep = null)
    {
        lock (_gate)
        {
            _state = state;
            _message = message;
            _accuracy = accuracy ?? _accuracy;
            _checkpointStep = checkpointStep ?? _checkpointStep;
        }
    }

    public void OnStep(StepRecord record)
    {
        lock (_gate)
        {
            _step = record.Step + 1;
            _loss = record.Loss;
            _stepSum += record.StepSeconds;
            _steps++;
            if (record.WaitSeconds is { } w)
            {
                _waitSum += w;
                _waits++;
            }
        }
    }

    public void OnEvaluation(EvalRecord record)
    {
        lock (_gate)
        {
            _accuracy = record.Accuracy;
        }
    }

    public void OnEvent(PeerEvent record)
    {
        lock (_gate)
        {
            _message = $"{record.Kind}: {record.Message}";
        }
    }
}
