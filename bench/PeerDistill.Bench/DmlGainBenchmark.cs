using System.Globalization;
using System.Text.Json;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;

namespace PeerDistill.Bench;

/// <summary>
/// examples/fashion-dml-gain.yaml over several seeds, each with its same-seed baseline in the same
/// run: per seed the mean peer accuracy of the baseline and of DML, the gain, and both ensembles.
/// Seed k shifts every peer's seed by 100 k and sets the data seed (subset, batch order) to k.
/// </summary>
internal static class DmlGainBenchmark
{
    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var root = EngineBenchmark.FindRepoRoot();
        var specPath = a.String("spec", Path.Combine(root, "examples", "fashion-dml-gain.yaml"));
        var seeds = a.Int("seeds", 3);
        var output = a.String("output", Path.Combine(root, "runs", "dml-gain-bench"));
        var report = a.String("report", Path.Combine(root, "bench", "reports", "dml-gain.json"));
        var loaded = SpecLoader.Load(specPath);
        if (!loaded.IsValid)
        {
            loaded.Errors.ToList().ForEach(e => Console.Error.WriteLine(e.ToString()));
            return 2;
        }

        var spec = loaded.Spec!;
        Console.WriteLine($"dml-gain: {specPath}, {seeds} seeds, each with its baseline");
        var rows = new List<Row>();
        for (var k = 0; k < seeds; k++)
        {
            var seeded = spec with
            {
                Peers = spec.Peers.Select(p => p with { Seed = p.Seed + (100 * k) }).ToList(),
                Data = spec.Data with { Seed = k },
                Checkpoints = spec.Checkpoints with { Directory = null },
            };
            var result = CohortExperiment.Run(seeded, new ExperimentOptions { Baseline = true, Output = Path.Combine(output, $"seed-{k}") }, new NullObserver(), new StopControl());
            var row = new Row(
                k,
                result.Baseline!.Peers.Average(p => p.TestAccuracy ?? double.NaN),
                result.Distilled.Peers.Average(p => p.TestAccuracy ?? double.NaN),
                result.Baseline.EnsembleAccuracy ?? double.NaN,
                result.Distilled.EnsembleAccuracy ?? double.NaN,
                result.Baseline.Peers.Select(p => p.TestAccuracy ?? double.NaN).ToArray(),
                result.Distilled.Peers.Select(p => p.TestAccuracy ?? double.NaN).ToArray(),
                result.WallSeconds);
            rows.Add(row);
            Console.WriteLine(Format(row));
        }

        Console.WriteLine();
        Console.WriteLine("| seed | baseline (mean of peers) | DML (mean of peers) | gain (points) | baseline ensemble | DML ensemble |");
        Console.WriteLine("|-----:|------:|------:|------:|------:|------:|");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Seed} | {r.Baseline:F4} | {r.Dml:F4} | {100 * (r.Dml - r.Baseline):+0.00;-0.00} | {r.BaselineEnsemble:F4} | {r.DmlEnsemble:F4} |"));
        }

        var meanGain = rows.Average(r => r.Dml - r.Baseline);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| mean | {rows.Average(r => r.Baseline):F4} | {rows.Average(r => r.Dml):F4} | {100 * meanGain:+0.00;-0.00} | {rows.Average(r => r.BaselineEnsemble):F4} | {rows.Average(r => r.DmlEnsemble):F4} |"));
        Directory.CreateDirectory(Path.GetDirectoryName(report)!);
        File.WriteAllText(report, JsonSerializer.Serialize(new { benchmark = "dml-gain", spec = specPath, rows, mean_gain_points = 100 * meanGain }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"report: {report}");
        return 0;
    }

    private static string Format(Row r) => string.Create(CultureInfo.InvariantCulture,
        $"seed {r.Seed}: baseline [{string.Join(", ", r.BaselinePeers.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}] dml [{string.Join(", ", r.DmlPeers.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}] gain {100 * (r.Dml - r.Baseline):+0.00;-0.00} points; ensembles {r.BaselineEnsemble:F4} / {r.DmlEnsemble:F4}; {r.WallSeconds:F0} s");

    private sealed record Row(int Seed, double Baseline, double Dml, double BaselineEnsemble, double DmlEnsemble, double[] BaselinePeers, double[] DmlPeers, double WallSeconds);

    private sealed class NullObserver : ICohortObserver
    {
        public void OnStep(StepRecord record)
        {
        }

        public void OnEvaluation(EvalRecord record)
        {
        }

        public void OnEvent(PeerEvent record)
        {
            if (record.Kind is "failed" or "finished")
            {
                Console.WriteLine($"  [{record.Run}] {record.Peer}: {record.Kind}: {record.Message}");
            }
        }
    }
}
