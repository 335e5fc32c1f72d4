using PeerDistill.Core.Spec;

namespace PeerDistill.Cluster.Tests.Exchange;

/// <summary>Shared pieces of the exchange tests.</summary>
internal static class GrpcExchangeTestsAccess
{
    public static CohortSpec Smoke(int epochs) => GrpcExchangeTests.SmokeSpec(epochs);

    internal sealed class Recorder : PeerDistill.Core.Runner.ICohortObserver
    {
        private readonly GrpcExchangeTests.Recorder _inner = new();

        public System.Collections.Concurrent.ConcurrentQueue<PeerDistill.Core.Runner.StepRecord> Steps => _inner.Steps;

        public void OnStep(PeerDistill.Core.Runner.StepRecord record) => _inner.OnStep(record);

        public void OnEvaluation(PeerDistill.Core.Runner.EvalRecord record)
        {
        }

        public void OnEvent(PeerDistill.Core.Runner.PeerEvent record)
        {
        }
    }
}
