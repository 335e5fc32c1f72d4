namespace PeerDistill.Core.Runner;

/// <summary>Receives a cohort's progress (metrics files, a live display, telemetry). Called from peer threads.</summary>
public interface ICohortObserver
{
    void OnStep(StepRecord record);

    void OnEvaluation(EvalRecord record);

    void OnEvent(PeerEvent record);
}
