using System.Text.Json;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>The embedded runner end to end, on synthetic data.</summary>
public class CohortRunnerTests
{
    [Fact]
    public void SmokeCohort_LearnsWellAboveChance_WithDistillationActive()
    {
        using var dir = new TempDir();
        var observer = new RecordingObserver();
        var result = CohortExperiment.Run(TestSpecs.Synthetic(dir.Path, epochs: 3), new ExperimentOptions(), observer, new StopControl());
        Assert.All(result.Distilled.Peers, p =>
        {
            Assert.Equal(PeerStatus.Completed, p.Status);
            Assert.True(p.TestAccuracy > 0.6, $"{p.Peer}: accuracy {p.TestAccuracy} (chance 0.1)");
        });
        Assert.NotNull(result.Distilled.EnsembleAccuracy);
        Assert.All(observer.Steps, s => Assert.Equal(1, s.Teachers));
        Assert.Contains(observer.Steps, s => s.Distillation > 0);
    }

    [Fact]
    public void SameSpecAndSeeds_GiveIdenticalMetrics()
    {
        using var dir1 = new TempDir();
        using var dir2 = new TempDir();
        var first = new RecordingObserver();
        var second = new RecordingObserver();
        var r1 = CohortExperiment.Run(TestSpecs.Synthetic(dir1.Path), new ExperimentOptions(), first, new StopControl());
        var r2 = CohortExperiment.Run(TestSpecs.Synthetic(dir2.Path), new ExperimentOptions(), second, new StopControl());
        Assert.Equal(first.Losses(), second.Losses());
        Assert.Equal(r1.Distilled.Peers.Select(p => p.TestAccuracy), r2.Distilled.Peers.Select(p => p.TestAccuracy));
        Assert.Equal(r1.Distilled.EnsembleAccuracy, r2.Distilled.EnsembleAccuracy);
    }

    [Fact]
    public void InterruptedThenResumed_EndsWithTheSameNumbersAsUninterrupted()
    {
        using var full = new TempDir();
        using var split = new TempDir();
        var uninterrupted = new RecordingObserver();
        var expected = CohortExperiment.Run(TestSpecs.Synthetic(full.Path, checkpointEvery: 10), new ExperimentOptions { Baseline = true }, uninterrupted, new StopControl());

        // Stop mid-epoch at step 27 (not a checkpoint step): the stop itself writes the checkpoints.
        var stop = new StopControl();
        stop.StopAt(27);
        var interrupted = CohortExperiment.Run(TestSpecs.Synthetic(split.Path, checkpointEvery: 10), new ExperimentOptions { Baseline = true }, new RecordingObserver(), stop);
        Assert.True(interrupted.Interrupted);
        Assert.All(interrupted.Baseline!.Peers, p => Assert.Equal(27, p.StepsCompleted));

        var resumed = new RecordingObserver();
        var actual = CohortExperiment.Run(TestSpecs.Synthetic(split.Path, checkpointEvery: 10), new ExperimentOptions { Baseline = true, Resume = true }, resumed, new StopControl());
        Assert.False(actual.Interrupted);
        Assert.Equal(27, actual.Baseline!.ResumedFromStep);
        Assert.Equal(expected.Distilled.Peers.Select(p => p.TestAccuracy), actual.Distilled.Peers.Select(p => p.TestAccuracy));
        Assert.Equal(expected.Baseline!.Peers.Select(p => p.TestAccuracy), actual.Baseline.Peers.Select(p => p.TestAccuracy));
        var all = uninterrupted.Losses();
        foreach (var (key, value) in resumed.Losses())
        {
            Assert.Equal(all[key], value);
        }

        // The metrics file holds every step once, as an uninterrupted run's does.
        Assert.Equal(StepKeys(Path.Combine(full.Path, "metrics.jsonl")), StepKeys(Path.Combine(split.Path, "metrics.jsonl")));
    }

    [Fact]
    public void DivergingPeer_IsStoppedAndTheOthersGoOn()
    {
        using var dir = new TempDir();
        var observer = new RecordingObserver();
        var spec = TestSpecs.Synthetic(dir.Path, epochs: 2, peers:
        [
            TestSpecs.Peer("a", "mlp", 1),
            TestSpecs.Peer("wild", "mlp", 2, lr: 1e30, optimizer: "sgd"),
            TestSpecs.Peer("c", "cnn", 3),
        ]);
        var result = CohortExperiment.Run(spec, new ExperimentOptions(), observer, new StopControl());
        var wild = result.Distilled.Peers.Single(p => p.Peer == "wild");
        Assert.Equal(PeerStatus.Failed, wild.Status);
        Assert.Matches(@"peer 'wild' stopped at step \d+: .*(NaN|infin)", wild.Message);
        Assert.True(wild.StepsCompleted < 40);
        Assert.All(result.Distilled.Peers.Where(p => p.Peer != "wild"), p =>
        {
            Assert.Equal(PeerStatus.Completed, p.Status);
            Assert.True(p.TestAccuracy > 0.6, $"{p.Peer}: {p.TestAccuracy}");
        });

        // After the failure the others learn from each other only, never from non-finite logits.
        var failedAt = wild.StepsCompleted;
        Assert.All(observer.Steps.Where(s => s.Peer != "wild" && s.Step > failedAt), s => Assert.Equal(1, s.Teachers));
        Assert.All(observer.Steps.Where(s => s.Peer != "wild"), s => Assert.True(double.IsFinite(s.Loss)));
        using var summary = JsonDocument.Parse(File.ReadAllText(result.SummaryPath));
        var wildNode = summary.RootElement.GetProperty("runs").GetProperty("dml").GetProperty("peers").EnumerateArray().Single(p => p.GetProperty("peer").GetString() == "wild");
        Assert.Equal("failed", wildNode.GetProperty("status").GetString());
    }

    [Fact]
    public void OutputFiles_HaveTheDocumentedFields()
    {
        using var dir = new TempDir();
        var result = CohortExperiment.Run(TestSpecs.Synthetic(dir.Path, epochs: 1), new ExperimentOptions { Baseline = true }, new RecordingObserver(), new StopControl());
        using var summary = JsonDocument.Parse(File.ReadAllText(result.SummaryPath));
        var root = summary.RootElement;
        Assert.Equal(SummarySchema.Version, root.GetProperty("schema").GetString());
        Assert.Equal(SummarySchema.Embedded, root.GetProperty("mode").GetString());
        foreach (var peer in root.GetProperty("peers").EnumerateArray())
        {
            foreach (var field in new[] { "peer", "model", "state", "steps", "test_accuracy", "message" })
            {
                Assert.True(peer.TryGetProperty(field, out _), $"summary.json's peers lack '{field}'");
            }
        }

        foreach (var field in new[] { "cohort", "run", "state", "strategy", "finished_at", "wall_seconds", "peers", "dataset", "train_images", "test_images", "epochs", "steps", "batch_size", "interrupted", "runs", "comparison", "ensemble" })
        {
            Assert.True(root.TryGetProperty(field, out _), $"summary.json lacks '{field}'");
        }

        foreach (var run in new[] { "dml", "baseline" })
        {
            var node = root.GetProperty("runs").GetProperty(run);
            foreach (var field in new[] { "strategy", "peers", "ensemble_accuracy", "wall_seconds", "samples_per_s", "resumed_from_step" })
            {
                Assert.True(node.TryGetProperty(field, out _), $"runs.{run} lacks '{field}'");
            }

            foreach (var peer in node.GetProperty("peers").EnumerateArray())
            {
                foreach (var field in new[] { "peer", "model", "status", "steps", "test_accuracy", "test_loss", "samples_per_s" })
                {
                    Assert.True(peer.TryGetProperty(field, out _), $"runs.{run}.peers[] lacks '{field}'");
                }
            }
        }

        foreach (var c in root.GetProperty("comparison").EnumerateArray())
        {
            Assert.Equal(c.GetProperty("distilled_accuracy").GetDouble() - c.GetProperty("baseline_accuracy").GetDouble(), c.GetProperty("gain").GetDouble(), 12);
        }

        var fields = new Dictionary<string, string[]>
        {
            ["step"] = ["run", "peer", "step", "epoch", "loss", "ce", "kd", "lr", "alpha", "teachers", "samples_per_s", "elapsed_s"],
            ["eval"] = ["run", "peer", "step", "epoch", "split", "final", "accuracy", "loss"],
            ["event"] = ["run", "peer", "step", "event", "message", "time"],
        };
        var seen = new HashSet<string>();
        foreach (var line in File.ReadLines(result.MetricsPath))
        {
            using var record = JsonDocument.Parse(line);
            var type = record.RootElement.GetProperty("type").GetString()!;
            seen.Add(type);
            foreach (var field in fields[type])
            {
                Assert.True(record.RootElement.TryGetProperty(field, out _), $"{type} record lacks '{field}': {line}");
            }
        }

        Assert.Equal(fields.Keys.Order(), seen.Order());
        var svg = File.ReadAllText(result.PlotPath);
        Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
        Assert.Contains("<polyline", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void PeersStepConcurrently_OnTheirOwnThreads()
    {
        using var dir = new TempDir();
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var observer = new ThreadRecorder(threads);
        CohortExperiment.Run(TestSpecs.Synthetic(dir.Path, epochs: 1), new ExperimentOptions(), observer, new StopControl());
        Assert.Equal(2, threads.Values.Distinct().Count());
    }

    private static List<string> StepKeys(string metrics) =>
        File.ReadLines(metrics)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "step")
            .Select(e => $"{e.GetProperty("run").GetString()}/{e.GetProperty("peer").GetString()}/{e.GetProperty("step").GetInt64()}/{e.GetProperty("loss").GetDouble():R}")
            .Order(StringComparer.Ordinal)
            .ToList();

    private sealed class ThreadRecorder(System.Collections.Concurrent.ConcurrentDictionary<string, int> threads) : ICohortObserver
    {
        public void OnStep(StepRecord record) => threads[record.Peer] = Environment.CurrentManagedThreadId;

        public void OnEvaluation(EvalRecord record)
        {
        }

        public void OnEvent(PeerEvent record)
        {
        }
    }
}
