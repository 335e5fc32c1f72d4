using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;
using PeerDistill.Torch.Data;

namespace PeerDistill.Bench;

/// <summary>
/// Two cnn peers learning from each other (DML) on Fashion-MNIST, three ways, in alternating
/// rounds of one run (best of each mode reported, with each round's own ratio):
/// - cohort: the embedded runner, each peer on its own thread with one intra-op thread;
/// - sequential: both peers stepped one after the other on one thread (what single-process DML
///   implementations do), one intra-op thread;
/// - bare: the same two models stepped by a plain engine loop on two threads, each distilling from
///   the other model's logits precomputed on the same batches, no exchange: the floor the
///   orchestration is measured against;
/// - traced: the cohort mode with telemetry on (traces and metrics exported over OTLP to a real
///   receiver in this process, default sampling: every 100th step and steps over 1 s), against the
///   cohort mode (telemetry off) of the same rounds.
/// </summary>
internal static class CohortBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var steps = a.Int("steps", 120);
        var warmup = a.Int("warmup", 10);
        var rounds = a.Int("rounds", 6);
        var report = a.String("report", Path.Combine(EngineBenchmark.FindRepoRoot(), "bench", "reports", "cohort.json"));
        var spec = Spec(steps + warmup);
        var data = CohortData.Load(spec.Data);
        Console.WriteLine($"cohort benchmark: 2 x cnn, DML, {data.Train.Name}, batch {spec.Data.BatchSize}, {steps} timed steps after {warmup} warm-up, {rounds} alternating rounds (best reported), {Environment.ProcessorCount} cores");

        var cohort = new List<double>();
        var sequential = new List<double>();
        var bare = new List<double>();
        var traced = new List<double>();
        await using var receiver = await PeerDistill.Tests.Shared.Otlp.OtlpReceiver.StartAsync();
        var cohortBusy = new List<double>();
        var cohortCpu = new List<double>();
        var sequentialCpu = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            // The modes take turns going first, so no mode always follows the same one.
            double c1 = 0, s1 = 0, b1 = 0, t1 = 0;
            Action[] modes =
            [
                () => c1 = TimeCohort(spec, data, warmup, steps, cohortBusy, cohortCpu),
                () => s1 = TimeSequential(spec, data, warmup, steps, sequentialCpu),
                () => b1 = TimeBare(spec, data, warmup, steps),
                () => t1 = TimeTraced(spec, data, warmup, steps, receiver),
            ];
            for (var m = 0; m < modes.Length; m++)
            {
                modes[(m + r) % modes.Length]();
            }

            cohort.Add(c1);
            sequential.Add(s1);
            bare.Add(b1);
            traced.Add(t1);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {r + 1}: cohort {cohort[^1]:F1} ms/step ({cohortBusy[^1]:F2} cores busy, {cohortCpu[^1]:F1} ms CPU per peer-step), sequential {sequential[^1]:F1} ms/step ({sequentialCpu[^1]:F1} ms CPU per peer-step), bare {bare[^1]:F1} ms/step, traced {traced[^1]:F1} ms/step"));
        }

        var batch = spec.Data.BatchSize;
        double Rate(double msPerStep) => 2 * batch / (msPerStep / 1000);
        var c = cohort.Min();
        var s = sequential.Min();
        var b = bare.Min();
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cohort (2 peer threads):       {c,7:F1} ms/step  {Rate(c),6:F0} samples/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sequential (one thread):       {s,7:F1} ms/step  {Rate(s),6:F0} samples/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bare engine loops (2 threads): {b,7:F1} ms/step  {Rate(b),6:F0} samples/s"));
        // Each round's ratio too: both modes of a round ran within seconds of each other, so a round
        // on a busy stretch of this shared machine shows in its own ratio rather than in the best.
        var roundRatios = sequential.Zip(cohort, (q, k) => q / k).Order().ToList();
        var medianRatio = roundRatios.Count % 2 == 1 ? roundRatios[roundRatios.Count / 2] : (roundRatios[roundRatios.Count / 2 - 1] + roundRatios[roundRatios.Count / 2]) / 2;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"concurrency: cohort / sequential samples/s = {s / c:F3}x (best of each mode); per round {string.Join(", ", sequential.Zip(cohort, (q, k) => (q / k).ToString("F2", CultureInfo.InvariantCulture)))}, median {medianRatio:F3}x"));
        // Where the cohort's time goes: a peer thread's own CPU time per step next to the other peer
        // (cohort) against alone (sequential); more CPU for the same work is contention for caches
        // and memory, not waiting, which leaves the thread off the CPU.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CPU per peer-step: cohort {cohortCpu.Min():F1} ms, sequential {sequentialCpu.Min():F1} ms (best rounds): {cohortCpu.Min() / sequentialCpu.Min():F3}x"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"overhead: cohort / bare time per step = {c / b:F3} ({(c / b - 1) * 100:+0.0;-0.0}%)"));
        // Telemetry: traced against untraced cohort rounds, best of each and per round (target <= 1.02).
        var t = traced.Min();
        var tracedRatios = traced.Zip(cohort, (on, off) => on / off).ToList();
        var tracedMedian = Median(tracedRatios);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"telemetry: traced / untraced time per step = {t / c:F3} (best of each mode); per round {string.Join(", ", tracedRatios.Select(x => x.ToString("F3", CultureInfo.InvariantCulture)))}, median {tracedMedian:F3}; receiver got {receiver.Describe()}"));
        Directory.CreateDirectory(Path.GetDirectoryName(report)!);
        File.WriteAllText(report, JsonSerializer.Serialize(new
        {
            benchmark = "cohort", steps, warmup, rounds, batch,
            cohort_ms_per_step = cohort, cohort_cores_busy = cohortBusy, cohort_cpu_ms_per_peer_step = cohortCpu, sequential_cpu_ms_per_peer_step = sequentialCpu, sequential_ms_per_step = sequential, bare_ms_per_step = bare,
            concurrency_ratio = s / c, concurrency_ratio_median_round = medianRatio, overhead_ratio = c / b,
            traced_ms_per_step = traced, telemetry_ratio = t / c, telemetry_ratio_median_round = tracedMedian,
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"report: {report}");
        return 0;
    }

    private static CohortSpec Spec(int totalSteps)
    {
        PeerSpec Peer(string name, long seed) => new()
        {
            Name = name,
            Model = "cnn",
            Optimizer = new OptimizerSpec { Kind = "sgd", LearningRate = 0.05, Momentum = 0.9, WeightDecay = 5e-4 },
            Seed = seed,
            Threads = 1,
        };
        var fashion = FashionMnist.IsAvailable();
        return new CohortSpec
        {
            Cohort = "bench-cohort",
            Peers = [Peer("a", 1), Peer("b", 2)],
            Data = new DataSpec
            {
                Dataset = fashion ? "fashion-mnist" : "synthetic",
                BatchSize = 128,
                Epochs = 1,
                SyntheticTrainCount = totalSteps * 128,
                SyntheticTestCount = 100,
            },
            Evaluation = new EvaluationSpec { AtEpochEnd = false },
            Checkpoints = new CheckpointSpec { EverySteps = 0, KeepLast = 1 },
        };
    }

    /// <summary>ms per cohort step of the embedded runner, from the peers' own step timestamps.</summary>
    private static double TimeCohort(CohortSpec spec, CohortData data, int warmup, int steps, List<double> busy, List<double> cpu)
    {
        var checkpoints = Directory.CreateTempSubdirectory("peerdistill-bench-");
        try
        {
            var timing = new StepTiming(warmup, warmup + steps);
            var stop = new StopControl();
            stop.StopAt(warmup + steps);
            CohortRunner.Run(spec, data, StrategyRegistry.Create(spec), "bench", checkpoints.FullName, resume: false, timing, stop);
            // Per step over the window: every thread of the process, and the peers' own threads.
            var perStep = timing.Cpu.PerStep();
            busy.Add(perStep.Values.Sum(t => t.CpuMs) / timing.MillisecondsPerStep(steps));
            cpu.Add(spec.Peers.Average(p => perStep.TryGetValue($"peer-{p.Name}", out var t) ? t.CpuMs : double.NaN));
            return timing.MillisecondsPerStep(steps);
        }
        finally
        {
            checkpoints.Delete(recursive: true);
        }
    }

    /// <summary>ms per cohort step of the embedded runner with telemetry exported over OTLP to <paramref name="receiver"/> (the SDK's defaults otherwise).</summary>
    private static double TimeTraced(CohortSpec spec, CohortData data, int warmup, int steps, PeerDistill.Tests.Shared.Otlp.OtlpReceiver receiver)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.OtlpGrpcEndpoint.GetLeftPart(UriPartial.Authority),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
        }).Build();
        using var telemetry = PeerDistill.Cluster.Hosting.StandaloneTelemetry.StartIfConfigured("bench", "cohort-bench", configuration)
            ?? throw new InvalidOperationException("telemetry did not start");
        return TimeCohort(spec, data, warmup, steps, [], []);
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>ms per step of both peers stepped one after the other on one thread.</summary>
    private static double TimeSequential(CohortSpec spec, CohortData data, int warmup, int steps, List<double> cpu)
    {
        double result = 0;
        var window = new CpuWindow();
        var thread = new Thread(() =>
        {
            TorchRuntime.SetNumThreads(1);
            using var a = PeerSession.Create(spec.Peers[0], data.Shape, data.Classes, data.TotalSteps);
            using var b = PeerSession.Create(spec.Peers[1], data.Shape, data.Classes, data.TotalSteps);
            var builder = data.NewBuilder();
            var clock = new Stopwatch();
            for (var step = 0; step < warmup + steps; step++)
            {
                if (step == warmup)
                {
                    clock.Start();
                    window.Start(step);
                }

                var batch = builder.Build(data.Sampler, 0, step);
                using var x = batch.ImagesTensor();
                using var y = batch.LabelsTensor();
                a.Optimizer.ZeroGrad();
                b.Optimizer.ZeroGrad();
                using var la = a.Model.Forward(x);
                using var lb = b.Model.Forward(x);
                using var lossA = DistillationLoss.Compute(la, y, [lb], ReadOnlySpan<double>.Empty, 1, 1, TeacherForm.Pairwise, LossCombination.Additive);
                using var lossB = DistillationLoss.Compute(lb, y, [la], ReadOnlySpan<double>.Empty, 1, 1, TeacherForm.Pairwise, LossCombination.Additive);
                lossA.Total.Backward();
                lossB.Total.Backward();
                a.Optimizer.Step();
                b.Optimizer.Step();
                _ = lossA.Total.Item() + lossB.Total.Item();
            }

            result = clock.Elapsed.TotalMilliseconds / steps;
            window.End(warmup + steps);
        })
        {
            Name = "sequential",
        };
        thread.Start();
        thread.Join();
        cpu.Add(window.PerStep().TryGetValue("sequential", out var t) ? t.CpuMs / 2 : double.NaN);
        return result;
    }

    /// <summary>
    /// ms per step of two plain engine loops on two threads, each distilling from teacher logits
    /// precomputed (before the clock starts) by the other peer's model on the same batches.
    /// </summary>
    private static double TimeBare(CohortSpec spec, CohortData data, int warmup, int steps)
    {
        var elapsed = new double[2];
        var teachers = new Tensor[2][];
        var precompute = spec.Peers.Select((peer, i) => new Thread(() => teachers[1 - i] = Precompute(peer, data, warmup + steps))).ToList();
        precompute.ForEach(t => t.Start());
        precompute.ForEach(t => t.Join());
        var threads = spec.Peers.Select((peer, i) => new Thread(() =>
        {
            using var session = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps);
            var builder = data.NewBuilder();
            var clock = new Stopwatch();
            for (var step = 0; step < warmup + steps; step++)
            {
                if (step == warmup)
                {
                    clock.Start();
                }

                session.Optimizer.LearningRate = session.Schedule.At(step);
                var batch = builder.Build(data.Sampler, 0, step);
                using var x = batch.ImagesTensor();
                using var y = batch.LabelsTensor();
                session.Optimizer.ZeroGrad();
                using var logits = session.Model.Forward(x);
                using var loss = DistillationLoss.Compute(logits, y, [teachers[i][step]], ReadOnlySpan<double>.Empty, 1, 1, TeacherForm.Pairwise, LossCombination.Additive, checkFinite: true);
                loss.Total.Backward();
                session.Optimizer.Step();
                _ = loss.Total.Item() + loss.CrossEntropy.Item() + loss.Distillation.Item();
            }

            elapsed[i] = clock.Elapsed.TotalMilliseconds;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var t in teachers.SelectMany(x => x))
        {
            t.Dispose();
        }

        return elapsed.Max() / steps;
    }

    /// <summary>The logits a fresh copy of <paramref name="peer"/> computes on each step's batch, detached.</summary>
    private static Tensor[] Precompute(PeerSpec peer, CohortData data, int count)
    {
        using var session = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps);
        var builder = data.NewBuilder();
        var result = new Tensor[count];
        for (var step = 0; step < count; step++)
        {
            var batch = builder.Build(data.Sampler, 0, step);
            using var x = batch.ImagesTensor();
            using var logits = session.Model.Forward(x);
            result[step] = logits.Detach();
        }

        return result;
    }

    /// <summary>Wall time between the end of the warm-up step and the end of the last step, over all peers.</summary>
    private sealed class StepTiming(int first, int last) : ICohortObserver
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private double _start = double.NaN;
        private double _end;

        /// <summary>Every thread's CPU time from the end of the warm-up to the end of the last step.</summary>
        public CpuWindow Cpu { get; } = new();

        public double MillisecondsPerStep(int steps) => (_end - _start) / steps;

        public void OnStep(StepRecord record)
        {
            var now = _clock.Elapsed.TotalMilliseconds;
            lock (this)
            {
                if (record.Step == first - 1 && double.IsNaN(_start))
                {
                    _start = now;
                    Cpu.Start(record.Step);
                }

                if (record.Step == last - 1)
                {
                    _end = Math.Max(_end, now);
                    Cpu.End(record.Step);
                }
            }
        }

        public void OnEvaluation(EvalRecord record)
        {
        }

        public void OnEvent(PeerEvent record)
        {
        }
    }
}
