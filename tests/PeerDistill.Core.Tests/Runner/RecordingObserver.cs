using System.Collections.Concurrent;
using PeerDistill.Core.Runner;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>Keeps every record a run reports.</summary>
internal sealed class RecordingObserver : ICohortObserver
{
    public ConcurrentQueue<StepRecord> Steps { get; } = new();

    public ConcurrentQueue<EvalRecord> Evaluations { get; } = new();

    public ConcurrentQueue<PeerEvent> Events { get; } = new();

    public void OnStep(StepRecord record) => Steps.Enqueue(record);

    public void OnEvaluation(EvalRecord record) => Evaluations.Enqueue(record);

    public void OnEvent(PeerEvent record) => Events.Enqueue(record);

    /// <summary>(run, peer, step) -> (loss, ce, kd), for exact comparisons.</summary>
    public Dictionary<(string, string, long), (double, double, double)> Losses() =>
        Steps.ToDictionary(s => (s.Run, s.Peer, s.Step), s => (s.Loss, s.CrossEntropy, s.Distillation));
}
