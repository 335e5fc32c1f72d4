using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;

namespace PeerDistill.Bench;

/// <summary>
/// The device benchmark of bench/gpu/run.sh (program peerdistill-gpubench): a 2-peer embedded DML cohort (cnn and resnet20 by
/// default) on synthetic CIFAR-10-shaped data (3x32x32, 10 classes) on one device, at each batch
/// size. Each peer runs the project's own step loop (<see cref="PeerStepLoop"/>) on its own thread
/// over an in-memory exchange, as <see cref="CohortRunner"/> does; the exchange is wrapped so that
/// the time each peer spends in publish and gather (waiting for the other peer included) is
/// measured over the timed window. Reports samples/s per peer, ms per cohort step and the share
/// of a step spent in the exchange; on CUDA also the peak device memory of each batch size (the
/// caching allocator's, as torch.cuda.max_memory_allocated/reserved). bench/gpu/torch_anchor.py
/// does the same steps in PyTorch. Before timing, it checks that a checkpoint written on the device
/// loads on the CPU with the same logits and goes back onto the device (the CUDA tests of
/// PeerDistill.Torch.Tests cannot run where there is no .NET). The report is written with
/// System.Text.Json's nodes, which the trimmed publish keeps working without reflection.
/// </summary>
internal static class GpuBenchmark
{
    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var device = a.String("device", "cuda:0");
        var models = a.String("models", "cnn,resnet20").Split(',');
        var batches = a.Ints("batches", [128, 512]);
        var warmup = a.Int("warmup", 20);
        var steps = a.Int("steps", 100);
        var threads = a.Int("threads", 1);
        var temperature = double.Parse(a.String("temperature", "4"), CultureInfo.InvariantCulture);
        var report = a.String("report", string.Empty);
        if (report.Length == 0)
        {
            throw new ArgumentException("--report FILE is required (where the JSON report goes)");
        }

        if (models.Length != 2)
        {
            throw new ArgumentException($"--models takes exactly two models (one per peer), got '{string.Join(',', models)}'");
        }

        if (warmup < 1 || steps < 1)
        {
            throw new ArgumentException($"--warmup and --steps must be at least 1 (got {warmup} and {steps})");
        }

        // A clear error before any data is made: an invalid device, or cuda:N without CUDA.
        TorchRuntime.CheckDevice(device);
        Console.WriteLine($"gpu benchmark: DML, peers {models[0]} + {models[1]}, device {device}, synthetic 3x32x32 / 10 classes, batches {string.Join(',', batches)}, {warmup} warm-up + {steps} timed steps, T={temperature.ToString(CultureInfo.InvariantCulture)}, {threads} intra-op thread(s) per peer");
        Console.WriteLine($"{TorchRuntime.BuildInfo.Split(';')[0]}; CUDA devices: {TorchRuntime.CudaDeviceCount}");

        var checkpoint = CheckpointAcrossDevices(device);
        Console.WriteLine(checkpoint.ToJsonString());
        var cuda = device.StartsWith("cuda", StringComparison.Ordinal);
        var results = new JsonArray();
        foreach (var batch in batches)
        {
            var spec = Spec(models, device, batch, warmup + steps, threads, temperature);
            var data = CohortData.Load(spec.Data);
            if (cuda)
            {
                TorchRuntime.CudaMemory(device, resetPeaks: true);
            }

            var r = TimeCohort(spec, data, warmup, steps);
            var memory = cuda ? TorchRuntime.CudaMemory(device) : null;
            var msPerStep = r.MillisecondsPerStep;
            var perPeer = new JsonArray();
            for (var i = 0; i < spec.Peers.Count; i++)
            {
                var share = r.ExchangeMillisecondsPerStep[i] / r.PeerMillisecondsPerStep[i];
                perPeer.Add((JsonNode)new JsonObject
                {
                    ["peer"] = spec.Peers[i].Name,
                    ["model"] = spec.Peers[i].Model,
                    ["ms_per_step"] = r.PeerMillisecondsPerStep[i],
                    ["samples_per_second"] = batch / (r.PeerMillisecondsPerStep[i] / 1000),
                    ["exchange_ms_per_step"] = r.ExchangeMillisecondsPerStep[i],
                    ["publish_ms_per_step"] = r.PublishMillisecondsPerStep[i],
                    ["gather_ms_per_step"] = r.GatherMillisecondsPerStep[i],
                    ["exchange_share"] = share,
                });
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"batch {batch,4} {spec.Peers[i].Model,-9} {r.PeerMillisecondsPerStep[i],8:F2} ms/step {batch / (r.PeerMillisecondsPerStep[i] / 1000),9:F0} samples/s  exchange {r.ExchangeMillisecondsPerStep[i]:F2} ms/step ({share * 100:F1}%: publish {r.PublishMillisecondsPerStep[i]:F2}, gather {r.GatherMillisecondsPerStep[i]:F2})"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"batch {batch,4} cohort    {msPerStep,8:F2} ms/step {2 * batch / (msPerStep / 1000),9:F0} samples/s (both peers){(memory is null ? string.Empty : $"; device memory peak {memory.PeakAllocatedBytes / 1048576.0:F0} MiB allocated, {memory.PeakReservedBytes / 1048576.0:F0} MiB reserved")}"));
            results.Add((JsonNode)new JsonObject
            {
                ["batch"] = batch,
                ["ms_per_cohort_step"] = msPerStep,
                ["cohort_samples_per_second"] = 2 * batch / (msPerStep / 1000),
                ["peers"] = perPeer,
                ["peak_resident_bytes"] = TorchRuntime.PeakResidentBytes,
                ["max_memory_allocated_bytes"] = memory?.PeakAllocatedBytes,
                ["max_memory_reserved_bytes"] = memory?.PeakReservedBytes,
            });
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(report))!);
        var document = new JsonObject
        {
            ["benchmark"] = "gpu-engine",
            ["engine"] = "peerdistill",
            ["device"] = device,
            ["models"] = new JsonArray(models.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            ["shape"] = "3x32x32",
            ["classes"] = 10,
            ["warmup"] = warmup,
            ["steps"] = steps,
            ["temperature"] = temperature,
            ["threads_per_peer"] = threads,
            ["libtorch"] = TorchRuntime.BuildInfo.Split(';')[0],
            ["cuda_devices"] = TorchRuntime.CudaDeviceCount,
            ["checkpoint_across_devices"] = checkpoint,
            ["results"] = results,
        };
        File.WriteAllText(report, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"report: {report}");
        return 0;
    }

    /// <summary>
    /// A cnn trained two steps on <paramref name="device"/> (SGD with momentum), saved there, then
    /// loaded on the CPU alone and restored with its optimizer into a CPU model; the CPU copy is
    /// saved and restored back onto the device. Reports the largest logit difference of each
    /// copy from the original on one batch, and fails when a copy is not the same model: beyond
    /// 1% of the largest logit (the CPU's and the GPU's kernels differ in rounding, cuDNN's
    /// convolutions run in TF32 by default; another model's logits differ by their whole size).
    /// </summary>
    private static JsonObject CheckpointAcrossDevices(string device)
    {
        var shape = new InputShape(3, 32, 32);
        var opts = new OptimizerOptions { Kind = OptimizerKind.Sgd, LearningRate = 0.05, Momentum = 0.9 };
        var dir = Directory.CreateTempSubdirectory("peerdistill-gpubench-ckpt-");
        try
        {
            using var hostX = Tensor.Randn(5, 16, 3, 32, 32);
            using var hostY = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (long)(i % 10)).ToArray(), 16);
            using var original = Model.Create("cnn", shape, 10, seed: 3, device: device);
            using var optimizer = Optimizer.Create(original, opts);
            for (var step = 0; step < 2; step++)
            {
                Step(original, optimizer, hostX, hostY, device);
            }

            var onDevice = Path.Combine(dir.FullName, "device.ckpt");
            Checkpoint.Save(onDevice, original, optimizer, step: 2);
            original.Eval();
            var reference = Logits(original, hostX);

            var (alone, _) = Checkpoint.LoadModel(onDevice, "cpu");
            double aloneDiff;
            using (alone)
            {
                alone.Eval();
                aloneDiff = MaxDifference(reference, Logits(alone, hostX));
            }

            using var onCpu = Model.Create("cnn", shape, 10, seed: 99);
            using var cpuOptimizer = Optimizer.Create(onCpu, opts);
            Checkpoint.Restore(onDevice, onCpu, cpuOptimizer);
            onCpu.Eval();
            var restoredDiff = MaxDifference(reference, Logits(onCpu, hostX));
            onCpu.Train();
            Step(onCpu, cpuOptimizer, hostX, hostY, "cpu"); // the momentum buffers came along, on the CPU

            var fromCpu = Path.Combine(dir.FullName, "cpu.ckpt");
            Checkpoint.Save(fromCpu, onCpu, cpuOptimizer, step: 3);
            using var back = Model.Create("cnn", shape, 10, seed: 42, device: device);
            using var backOptimizer = Optimizer.Create(back, opts);
            Checkpoint.Restore(fromCpu, back, backOptimizer);
            onCpu.Eval();
            back.Eval();
            var backDiff = MaxDifference(Logits(onCpu, hostX), Logits(back, hostX));
            back.Train();
            Step(back, backOptimizer, hostX, hostY, device);

            var tolerance = 0.01 * Math.Max(1, reference.Max(Math.Abs));
            if (aloneDiff > tolerance || restoredDiff > tolerance || backDiff > tolerance)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"a checkpoint did not carry the model across devices: max logit difference {aloneDiff:G3} (loaded on the cpu), {restoredDiff:G3} (restored on the cpu), {backDiff:G3} (back on {device}); tolerance {tolerance}"));
            }

            return new JsonObject
            {
                ["from"] = device,
                ["loaded_on_cpu_max_logit_difference"] = aloneDiff,
                ["restored_on_cpu_max_logit_difference"] = restoredDiff,
                ["restored_back_max_logit_difference"] = backDiff,
                ["passed"] = true,
            };
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static void Step(Model model, Optimizer optimizer, Tensor hostX, Tensor hostY, string device)
    {
        using var y = hostY.To(device);
        optimizer.ZeroGrad();
        using var logits = model.Forward(hostX);
        using var loss = DistillationLoss.CrossEntropy(logits, y, checkFinite: true);
        loss.Total.Backward();
        optimizer.Step();
    }

    private static float[] Logits(Model model, Tensor hostX)
    {
        using var logits = model.Predict(hostX);
        return logits.ToFloatArray();
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    private static CohortSpec Spec(string[] models, string device, int batch, int totalSteps, int threads, double temperature)
    {
        PeerSpec Peer(string model, long seed) => new()
        {
            Name = model,
            Model = model,
            Optimizer = new OptimizerSpec { Kind = "sgd", LearningRate = 0.05, Momentum = 0.9, WeightDecay = 5e-4 },
            Seed = seed,
            Threads = threads,
            Device = device,
        };
        return new CohortSpec
        {
            Cohort = "gpu-bench",
            Peers = [Peer(models[0], 1), Peer(models[1], 2)],
            Distillation = new DistillationSpec { Strategy = "dml", Temperature = temperature, Alpha = 1 },
            Data = new DataSpec
            {
                Dataset = "synthetic",
                BatchSize = batch,
                Epochs = 1,
                SyntheticTrainCount = totalSteps * batch,
                SyntheticTestCount = batch,
                SyntheticShape = new InputShape(3, 32, 32),
            },
            Evaluation = new EvaluationSpec { AtEpochEnd = false },
            Checkpoints = new CheckpointSpec { EverySteps = 0, KeepLast = 1 },
        };
    }

    private sealed record Timing(double MillisecondsPerStep, double[] PeerMillisecondsPerStep, double[] ExchangeMillisecondsPerStep, double[] PublishMillisecondsPerStep, double[] GatherMillisecondsPerStep);

    /// <summary>Runs the cohort as <see cref="CohortRunner"/> does, with the exchange and the steps timed.</summary>
    private static Timing TimeCohort(CohortSpec spec, CohortData data, int warmup, int steps)
    {
        var checkpoints = Directory.CreateTempSubdirectory("peerdistill-gpubench-");
        try
        {
            var names = spec.Peers.Select(p => p.Name).ToList();
            var strategy = StrategyRegistry.Create(spec);
            var stop = new StopControl();
            stop.BeginRun(coupled: true);
            var store = new CheckpointStore(checkpoints.FullName, "gpu-bench", spec.Checkpoints.KeepLast);
            using var inner = new InMemoryLogitExchange(names, ExchangePolicy.From(spec.Exchange), LogitWireFormat.From(spec.Exchange));
            var exchange = new TimedExchange(inner, names, warmup, warmup + steps);
            var observer = new StepClock(names, warmup, warmup + steps);
            var options = PeerLoopOptions.For(spec, "gpu-bench");
            var failures = new string?[spec.Peers.Count];
            var threads = spec.Peers.Select((peer, i) => new Thread(() =>
            {
                try
                {
                    using var session = PeerSession.Create(peer, data.Shape, data.Classes, data.TotalSteps, spec);
                    var outcome = new PeerStepLoop(session, data, strategy, exchange, observer, stop, store, options).Run(CancellationToken.None);
                    if (outcome.Status != PeerStatus.Completed)
                    {
                        failures[i] = $"peer '{peer.Name}' ended {outcome.Status}: {outcome.Message}";
                    }
                }
                catch (Exception e)
                {
                    inner.Withdraw(peer.Name, 0, e.Message);
                    stop.Leave(peer.Name);
                    failures[i] = $"peer '{peer.Name}' failed: {e.Message}";
                }
            })
            {
                Name = $"peer-{peer.Name}",
                IsBackground = true,
            }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            if (failures.FirstOrDefault(f => f is not null) is { } failure)
            {
                throw new InvalidOperationException(failure);
            }

            var peerMs = names.Select(n => observer.MillisecondsPerStep(n, steps)).ToArray();
            return new Timing(
                observer.CohortMillisecondsPerStep(steps),
                peerMs,
                names.Select(n => (exchange.PublishMs(n) + exchange.GatherMs(n)) / steps).ToArray(),
                names.Select(n => exchange.PublishMs(n) / steps).ToArray(),
                names.Select(n => exchange.GatherMs(n) / steps).ToArray());
        }
        finally
        {
            checkpoints.Delete(recursive: true);
        }
    }

    /// <summary>An exchange that adds up, per peer, the wall time of publish and gather at the steps in [first, last).</summary>
    private sealed class TimedExchange(ILogitExchange inner, IEnumerable<string> peers, int first, int last) : ILogitExchange
    {
        private readonly Dictionary<string, double[]> _ms = peers.ToDictionary(p => p, _ => new double[2], StringComparer.Ordinal);

        public double PublishMs(string peer) => _ms[peer][0];

        public double GatherMs(string peer) => _ms[peer][1];

        public void Publish(string peer, long step, Tensor logits)
        {
            var start = Stopwatch.GetTimestamp();
            inner.Publish(peer, step, logits);
            Add(peer, step, 0, start);
        }

        public void Withdraw(string peer, long step, string reason) => inner.Withdraw(peer, step, reason);

        public IReadOnlyList<TeacherLogits> Gather(string peer, long step, IReadOnlyList<string> from, CancellationToken cancellation)
        {
            var start = Stopwatch.GetTimestamp();
            var result = inner.Gather(peer, step, from, cancellation);
            Add(peer, step, 1, start);
            return result;
        }

        // Each peer only touches its own entry, from its own thread.
        private void Add(string peer, long step, int what, long start)
        {
            if (step >= first && step < last)
            {
                _ms[peer][what] += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
    }

    /// <summary>Per peer, the wall time from the end of its last warm-up step to the end of its last timed step.</summary>
    private sealed class StepClock(IEnumerable<string> peers, int first, int last) : ICohortObserver
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Dictionary<string, double[]> _marks = peers.ToDictionary(p => p, _ => new[] { double.NaN, double.NaN }, StringComparer.Ordinal);

        public double MillisecondsPerStep(string peer, int steps) => (_marks[peer][1] - _marks[peer][0]) / steps;

        /// <summary>From the first peer's end of warm-up to the last peer's end.</summary>
        public double CohortMillisecondsPerStep(int steps) => (_marks.Values.Max(m => m[1]) - _marks.Values.Min(m => m[0])) / steps;

        public void OnStep(StepRecord record)
        {
            var now = _clock.Elapsed.TotalMilliseconds;
            if (record.Step == first - 1)
            {
                _marks[record.Peer][0] = now;
            }
            else if (record.Step == last - 1)
            {
                _marks[record.Peer][1] = now;
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
