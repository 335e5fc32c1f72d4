using PeerDistill.Cluster.Cohorts;
using PeerDistill.Core.Runner;

namespace PeerDistill.Cluster.Hosting;

/// <summary>The latest of what a hosted peer did, as its peer grain reports it to the cohort.</summary>
internal sealed class PeerProgressState(string peer, ulong generation, long totalSteps) : ICohortObserver
{
    private readonly object _gate = new();
    private PeerState _state = PeerState.Pending;
    private long _step;
    private double _loss;
    private double? _accuracy;
    private string _message = string.Empty;
    private long? _checkpointStep;

    /// <summary>The report of this generation, as from <paramref name="silo"/>.</summary>
    public PeerReport Snapshot(string silo)
    {
        lock (_gate)
        {
            return new PeerReport
            {
                Peer = peer,
                Generation = generation,
                Silo = silo,
                State = _state,
                Step = _step,
                TotalSteps = totalSteps,
                Loss = _loss,
                Accuracy = _accuracy,
                Message = _message,
                CheckpointStep = _checkpointStep,
            };
        }
    }

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
