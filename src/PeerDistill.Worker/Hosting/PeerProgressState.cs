using PeerDistill.Core.Runner;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Worker.Hosting;

/// <summary>The latest of what a hosted peer did, reported to the coordinator with each heartbeat.</summary>
internal sealed class PeerProgressState(string cohort, string run, string peer, ulong generation, long totalSteps) : ICohortObserver
{
    private readonly object _gate = new();
    private readonly PeerProgress _progress = new()
    {
        Cohort = cohort,
        Run = run,
        Peer = peer,
        Generation = generation,
        TotalSteps = totalSteps,
        State = PeerState.Pending,
    };

    public PeerProgress Snapshot()
    {
        lock (_gate)
        {
            return _progress.Clone();
        }
    }

    public PeerState State
    {
        get
        {
            lock (_gate)
            {
                return _progress.State;
            }
        }
    }

    /// <summary>The peer starts (or resumes) at <paramref name="step"/>.</summary>
    public void StartAt(long step)
    {
        lock (_gate)
        {
            _progress.Step = step;
        }
    }

    public void Set(PeerState state, string message, double? accuracy = null)
    {
        lock (_gate)
        {
            _progress.State = state;
            _progress.Message = message;
            if (accuracy is { } a)
            {
                _progress.Accuracy = a;
            }
        }
    }

    public void OnStep(StepRecord record)
    {
        lock (_gate)
        {
            _progress.Step = record.Step + 1;
            _progress.Loss = record.Loss;
            _progress.CrossEntropy = record.CrossEntropy;
            _progress.Distillation = record.Distillation;
            _progress.SamplesPerSecond = record.SamplesPerSecond;
        }
    }

    public void OnEvaluation(EvalRecord record)
    {
        lock (_gate)
        {
            _progress.Accuracy = record.Accuracy;
        }
    }

    public void OnEvent(PeerEvent record)
    {
        lock (_gate)
        {
            _progress.Message = $"{record.Kind}: {record.Message}";
        }
    }
}
