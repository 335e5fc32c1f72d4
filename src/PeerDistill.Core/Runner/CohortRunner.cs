using System.Diagnostics;
using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;

namespace PeerDistill.Core.Runner;

/// <summary>
/// Runs every peer of a cohort in this process, each on its own thread with its own intra-op
/// thread budget, exchanging logits in memory. The peers step concurrently; the exchange keeps
/// them in lockstep where the strategy couples them.
/// </summary>
public static class CohortRunner
{
    public static RunResult Run(
        CohortSpec spec,
        CohortData data,
        IDistillationStrategy strategy,
        string run,
        string checkpointDirectory,
        bool resume,
        ICohortObserver observer,
        StopControl stop,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (CohortChanges.StepProblem(spec, data.TotalSteps) is { } problem)
        {
            throw new InvalidOperationException($"{spec.SourcePath ?? "spec"}: {problem}");
        }

        var names = spec.Peers.Select(p => p.Name).ToList();
        var store = new CheckpointStore(checkpointDirectory, run, spec.Checkpoints.KeepLast);
        long? resumeStep = null;
        if (resume)
        {
            resumeStep = store.CommonStep(names);
            if (resumeStep is null && names.Any(n => store.List(n).Count > 0))
            {
                throw new InvalidOperationException(
                    $"cannot resume run '{run}': the peers have no checkpoint of a common step in {Path.GetFullPath(checkpointDirectory)}");
            }
        }

        var consumers = names.Where(n => strategy.Configure(n, 0).Count > 0).ToList();
        stop.BeginRun(coupled: consumers.Count > 0);
        using var exchange = new InMemoryLogitExchange(consumers, ExchangePolicy.From(spec.Exchange), LogitWireFormat.From(spec.Exchange));
        // The run's span: every peer's activation is its child (nothing is made when nothing listens).
        using var span = Telemetry.RunnerTelemetry.Source.StartActivity(Telemetry.SpanNames.CohortRun);
        span?.SetTag(Telemetry.TelemetryAttributes.Cohort, spec.Cohort);
        span?.SetTag(Telemetry.TelemetryAttributes.Run, run);
        var options = PeerLoopOptions.For(spec, run) with { TraceParent = span?.Context ?? default };
        var outcomes = new PeerOutcome[spec.Peers.Count];
        var sessions = new PeerSession?[spec.Peers.Count];
        var clock = Stopwatch.StartNew();
        var threads = spec.Peers.Select((peer, i) => new Thread(() =>
        {
            try
            {
                sessions[i] = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps, spec);
                if (resumeStep is { } at)
                {
                    sessions[i]!.Restore(store.PathOf(peer.Name, at));
                }

                outcomes[i] = new PeerStepLoop(sessions[i]!, data, strategy, exchange, observer, stop, store, options).Run(cancellation);
            }
            catch (Exception e)
            {
                exchange.Withdraw(peer.Name, 0, e.Message);
                stop.Leave(peer.Name);
                // A peer that cannot even start is data too; the others go on.
                var message = $"peer '{peer.Name}' could not start: {e.Message}";
                observer.OnEvent(new PeerEvent(run, peer.Name, 0, "failed", message));
                outcomes[i] = new PeerOutcome(peer.Name, peer.Model, PeerStatus.Failed, 0, null, null, 0, message);
            }
        })
        {
            Name = $"peer-{peer.Name}",
            IsBackground = true,
        }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        clock.Stop();

        try
        {
            var ensemble = EnsembleAccuracy(sessions.Where((s, i) => s?.TestProbabilities is not null && outcomes[i].Status == PeerStatus.Completed).Select(s => s!.TestProbabilities!).ToList(), data);
            var trained = (double)outcomes.Sum(o => o.SamplesTrained);
            return new RunResult(run, strategy.Key, outcomes, ensemble, clock.Elapsed.TotalSeconds, trained / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), resumeStep ?? 0);
        }
        finally
        {
            foreach (var s in sessions)
            {
                s?.Dispose();
            }
        }
    }

    /// <summary>Accuracy of the mean of the peers' softmax outputs on the test set.</summary>
    private static double? EnsembleAccuracy(IReadOnlyList<float[]> probabilities, CohortData data)
    {
        if (probabilities.Count == 0)
        {
            return null;
        }

        var classes = data.Test.Classes;
        var correct = 0;
        var mean = new double[classes];
        for (var i = 0; i < data.Test.Count; i++)
        {
            Array.Clear(mean);
            foreach (var p in probabilities)
            {
                for (var c = 0; c < classes; c++)
                {
                    mean[c] += p[(i * classes) + c];
                }
            }

            var best = 0;
            for (var c = 1; c < classes; c++)
            {
                if (mean[c] > mean[best])
                {
                    best = c;
                }
            }

            if (best == data.Test.Label(i))
            {
                correct++;
            }
        }

        return (double)correct / data.Test.Count;
    }
}
