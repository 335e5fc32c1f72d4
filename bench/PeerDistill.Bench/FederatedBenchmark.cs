using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Protocol.V1;
using PeerDistill.Torch;

namespace PeerDistill.Bench;

/// <summary>
/// The federated results table: examples/fashion-fedmd.yaml and examples/fashion-feddf.yaml (10
/// participants on Fashion-MNIST) at Dirichlet alpha 0.5 and 0.1 over seeds 0, 1, 2: each
/// participant alone (the fedmd spec's baseline: warm-up and private epochs, mean over
/// participants), FedMD (mean participant accuracy after the rounds), FedDF (the server's
/// accuracy), and the centralised model (the same mlp on every training image, as many epochs as
/// rounds). Bytes per round: the frames the round plan exchanges times the protobuf size of each,
/// against FedAvg's 2 x participants x parameter bytes. Seed k sets the data seed (public split,
/// partition, batch orders) to k and shifts every peer's seed by 100 k.
/// </summary>
internal static class FederatedBenchmark
{
    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var root = EngineBenchmark.FindRepoRoot();
        var fedmdPath = a.String("fedmd", Path.Combine(root, "examples", "fashion-fedmd.yaml"));
        var feddfPath = a.String("feddf", Path.Combine(root, "examples", "fashion-feddf.yaml"));
        var seeds = a.Ints("seeds", [0, 1, 2]);
        var alphas = a.String("alphas", "0.5,0.1").Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var output = a.String("output", Path.Combine(root, "runs", "federated-bench"));
        var report = a.String("report", Path.Combine(root, "bench", "reports", "federated.json"));
        if (Load(fedmdPath) is not { } fedmd || Load(feddfPath) is not { } feddf)
        {
            return 2;
        }

        var clock = Stopwatch.StartNew();
        Console.WriteLine($"federated: {fedmdPath} and {feddfPath}; alphas {string.Join(", ", alphas)}; seeds {string.Join(", ", seeds)}");
        var rows = new List<Row>();
        var centralised = new Dictionary<int, double>();
        foreach (var seed in seeds)
        {
            centralised[seed] = Centralised(fedmd, seed, Path.Combine(output, $"centralised-seed-{seed}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed}: centralised {centralised[seed]:F4}"));
        }

        foreach (var alpha in alphas)
        {
            foreach (var seed in seeds)
            {
                var md = Seeded(fedmd, seed, alpha);
                var df = Seeded(feddf, seed, alpha);
                var mdResult = CohortExperiment.Run(md, new ExperimentOptions { Baseline = true, Output = Path.Combine(output, $"fedmd-a{alpha}-seed-{seed}") }, new QuietObserver(), new StopControl());
                var dfResult = CohortExperiment.Run(df, new ExperimentOptions { Output = Path.Combine(output, $"feddf-a{alpha}-seed-{seed}") }, new QuietObserver(), new StopControl());
                var server = df.Peers.Single(p => p.Role == PeerSpec.ServerRole).Name;
                var row = new Row(
                    alpha,
                    seed,
                    mdResult.Baseline!.Peers.Average(p => p.TestAccuracy ?? double.NaN),
                    mdResult.Distilled.Peers.Average(p => p.TestAccuracy ?? double.NaN),
                    dfResult.Distilled.Peers.Single(p => p.Peer == server).TestAccuracy ?? double.NaN,
                    dfResult.Distilled.Peers.Where(p => p.Peer != server).Average(p => p.TestAccuracy ?? double.NaN),
                    centralised[seed],
                    BytesPerRound(md),
                    BytesPerRound(df),
                    FedAvgBytesPerRound(md),
                    mdResult.WallSeconds,
                    dfResult.WallSeconds);
                rows.Add(row);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"alpha {alpha} seed {seed}: alone {row.Alone:F4}, fedmd {row.FedMd:F4}, feddf server {row.FedDfServer:F4} (clients {row.FedDfClients:F4}), centralised {row.Centralised:F4}; {row.FedMdSeconds + row.FedDfSeconds:F0} s"));
            }
        }

        clock.Stop();
        Console.WriteLine();
        Console.WriteLine("| Dirichlet alpha | alone (mean of 10) | FedMD (mean of 10) | FedDF server | centralised | FedMD bytes/round | FedDF bytes/round | FedAvg bytes/round |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var g in rows.GroupBy(r => r.Alpha))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {g.Key} | {MeanSd(g.Select(r => r.Alone))} | {MeanSd(g.Select(r => r.FedMd))} | {MeanSd(g.Select(r => r.FedDfServer))} | {MeanSd(g.Select(r => r.Centralised))} | {Bytes(g.First().FedMdBytes)} | {Bytes(g.First().FedDfBytes)} | {Bytes(g.First().FedAvgBytes)} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wall time {clock.Elapsed.TotalMinutes:F1} min"));
        Directory.CreateDirectory(Path.GetDirectoryName(report)!);
        File.WriteAllText(report, JsonSerializer.Serialize(
            new { benchmark = "federated", fedmd = fedmdPath, feddf = feddfPath, alphas, seeds, rows, wall_seconds = clock.Elapsed.TotalSeconds },
            new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"report: {report}");
        return 0;
    }

    private static CohortSpec? Load(string path)
    {
        var loaded = SpecLoader.Load(path);
        if (!loaded.IsValid)
        {
            loaded.Errors.ToList().ForEach(e => Console.Error.WriteLine(e.ToString()));
            return null;
        }

        return loaded.Spec!;
    }

    private static CohortSpec Seeded(CohortSpec spec, int seed, double alpha) => spec with
    {
        Peers = spec.Peers.Select(p => p with { Seed = p.Seed + (100 * seed) }).ToList(),
        Data = spec.Data with { Seed = seed, Partition = spec.Data.Partition! with { Alpha = alpha, Seed = seed } },
        Checkpoints = spec.Checkpoints with { Directory = null },
    };

    /// <summary>The first participant's model trained alone on every training image, one epoch per round.</summary>
    private static double Centralised(CohortSpec fedmd, int seed, string output)
    {
        var peer = fedmd.Peers[0] with { Seed = fedmd.Peers[0].Seed + (100 * seed) };
        var spec = fedmd with
        {
            Cohort = fedmd.Cohort + "-centralised",
            Peers = [peer],
            Distillation = new DistillationSpec { Strategy = "none" },
            Data = fedmd.Data with { Seed = seed, Partition = null, Public = null, Epochs = fedmd.Distillation.Federated.Rounds * fedmd.Distillation.Federated.LocalEpochs },
            Checkpoints = fedmd.Checkpoints with { Directory = null },
        };
        var result = CohortExperiment.Run(spec, new ExperimentOptions { Output = output }, new QuietObserver(), new StopControl());
        return result.Distilled.Peers[0].TestAccuracy ?? double.NaN;
    }

    /// <summary>
    /// The bytes a round of <paramref name="spec"/> puts on the wire: every frame of the round plan
    /// (fedmd: each participant to each other at each public step; feddf: each client to the server
    /// at each public step, and the server to each client at the round's last) at the protobuf size
    /// of a fp32 frame of that step's public batch.
    /// </summary>
    private static double BytesPerRound(CohortSpec spec)
    {
        var data = CohortData.Load(spec);
        var plan = data.Federation!;
        var m = plan.Participants.Count;
        double total = 0;
        for (var step = plan.WarmupSteps; step < plan.TotalSteps; step++)
        {
            if (plan.PublicIndexAt(step) is not { } k)
            {
                continue;
            }

            var frames = plan.Strategy == FederatedPlan.FedMd ? m * (m - 1) : m + (plan.IsLastPublicOfRound(step) ? m : 0);
            total += frames * (double)FrameBytes(spec, plan.PublicSampler.Batch(k).Length, data.Classes);
        }

        return total / plan.Rounds;
    }

    private static long FrameBytes(CohortSpec spec, int batch, int classes)
    {
        var frame = new LogitsFrame
        {
            Cohort = spec.Cohort,
            Run = "fedmd",
            Sender = "p0",
            Receiver = "p1",
            Generation = 1,
            Step = 100_000,
            Dtype = WireDType.Fp32,
            Values = ByteString.CopyFrom(new byte[batch * classes * sizeof(float)]),
            SentUnixNanos = DateTime.UtcNow.Ticks * 100,
        };
        frame.Shape.Add(batch);
        frame.Shape.Add(classes);
        return frame.CalculateSize();
    }

    /// <summary>FedAvg moves every participant's parameters down and up each round: 2 x participants x fp32 parameter bytes.</summary>
    private static double FedAvgBytesPerRound(CohortSpec spec)
    {
        var peer = spec.Peers[0];
        using var model = Model.Create(peer.Model, new InputShape(1, 28, 28), 10, peer.Seed, "cpu", peer.ModelOptions);
        return 2.0 * spec.Peers.Count(p => p.Role != PeerSpec.ServerRole) * model.ParameterCount * sizeof(float);
    }

    private static string MeanSd(IEnumerable<double> values)
    {
        var v = values.ToArray();
        var mean = v.Average();
        var sd = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return string.Create(CultureInfo.InvariantCulture, $"{100 * mean:F2} ± {100 * sd:F2}");
    }

    private static string Bytes(double bytes) => bytes >= 1 << 20
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1 << 20):F2} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024:F0} KiB");

    private sealed record Row(
        double Alpha, int Seed, double Alone, double FedMd, double FedDfServer, double FedDfClients, double Centralised,
        double FedMdBytes, double FedDfBytes, double FedAvgBytes, double FedMdSeconds, double FedDfSeconds);

    private sealed class QuietObserver : ICohortObserver
    {
        public void OnStep(StepRecord record)
        {
        }

        public void OnEvaluation(EvalRecord record)
        {
        }

        public void OnEvent(PeerEvent record)
        {
            if (record.Kind is "failed")
            {
                Console.WriteLine($"  [{record.Run}] {record.Peer}: {record.Kind}: {record.Message}");
            }
        }
    }
}
