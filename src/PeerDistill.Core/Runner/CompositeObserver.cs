namespace PeerDistill.Core.Runner;

/// <summary>Forwards every record to several observers.</summary>
public sealed class CompositeObserver : ICohortObserver
{
    private readonly ICohortObserver[] _observers;

    public CompositeObserver(params ICohortObserver[] observers)
    {
        _observers = observers;
    }

    public void OnStep(StepRecord record)
    {
        foreach (var o in _observers)
        {
            o.OnStep(record);
        }
    }

    public void OnEvaluation(EvalRecord record)
    {
        foreach (var o in _observers)
        {
            o.OnEvaluation(record);
        }
    }

    public void OnEvent(PeerEvent record)
    {
        foreach (var o in _observers)
        {
            o.OnEvent(record);
        }
    }
}
