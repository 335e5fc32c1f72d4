using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PeerDistill.Torch;
using PeerDistill.Torch.Data;

namespace PeerDistill.Bench;

/// <summary>
/// Trains the Fashion-MNIST `cnn` for a fixed number of steps through the engine and, in the same
/// run, the same model with python3-torch (same libtorch, same thread count), alternating rounds
/// so that both see the same machine; prints samples/s, the ratio and the peak memory.
/// </summary>
internal static class EngineBenchmark
{
    private const string Python = "/usr/bin/python3";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var steps = a.Int("steps", 150);
        var warmup = a.Int("warmup", 15);
        var batchSize = a.Int("batch", 128);
        var rounds = a.Int("rounds", 3);
        var threadCounts = a.Ints("threads", [1, 2]);
        var data = a.String("data", FashionMnist.DefaultDirectory);
        var report = a.String("report", Path.Combine(FindRepoRoot(), "bench", "reports", "engine.json"));

        Console.WriteLine($"engine benchmark: cnn on {(FashionMnist.IsAvailable(data) ? "Fashion-MNIST" : "synthetic data")}, batch {batchSize}, {steps} timed steps after {warmup} warm-up, {rounds} alternating rounds, best round reported");
        Console.WriteLine($"engine: {TorchRuntime.BuildInfo.Split('\n')[0]}");
        var train = FashionMnist.IsAvailable(data) ? FashionMnist.Load(data, train: true) : SyntheticDataset.Create(60000, seed: 0);
        var normalization = FashionMnist.IsAvailable(data) ? Normalization.FashionMnist : Normalization.None;
        var pythonMissing = PythonProblem();
        if (pythonMissing is not null)
        {
            Console.WriteLine($"python3-torch side skipped: {pythonMissing}");
        }

        var results = new List<object>();
        Console.WriteLine();
        Console.WriteLine("threads  engine samples/s  python3-torch samples/s  ratio");
        foreach (var threads in threadCounts)
        {
            var ours = new List<double>();
            var theirs = new List<double>();
            for (var r = 0; r < rounds; r++)
            {
                ours.Add(TimeEngine(train, normalization, batchSize, warmup, steps, threads));
                if (pythonMissing is null)
                {
                    theirs.Add(TimePython(steps, warmup, batchSize, threads, data));
                }
            }

            var best = ours.Max();
            var bestPython = theirs.Count > 0 ? theirs.Max() : double.NaN;
            var ratio = best / bestPython;
            var medianRatio = Median(ours) / Median(theirs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{threads,7}  {best,16:F0}  {bestPython,23:F0}  {ratio,5:F3}x   (median rounds: {medianRatio:F3}x)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"         rounds: engine [{string.Join(", ", ours.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))}]  python3-torch [{string.Join(", ", theirs.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))}]"));
            results.Add(new { threads, engine_samples_per_s = best, python_samples_per_s = bestPython, ratio, median_ratio = medianRatio, engine_rounds = ours, python_rounds = theirs });
        }

        var peak = TorchRuntime.PeakResidentBytes;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak resident memory of this process (data set of {train.Count} images in memory included): {peak / (1024.0 * 1024.0):F0} MiB"));
        Directory.CreateDirectory(Path.GetDirectoryName(report)!);
        File.WriteAllText(report, JsonSerializer.Serialize(
            new { benchmark = "engine", model = "cnn", batch = batchSize, steps, warmup, rounds, machine = $"{Environment.ProcessorCount} cores", results, peak_resident_bytes = peak },
            new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"report: {report}");
        return 0;
    }

    /// <summary>Samples/s of the engine's training loop over <paramref name="steps"/> steps.</summary>
    internal static double TimeEngine(IDataset train, Normalization normalization, int batchSize, int warmup, int steps, int threads)
    {
        double result = 0;
        // A fresh thread, as a peer would have, with its own intra-op budget.
        var thread = new Thread(() =>
        {
            TorchRuntime.SetNumThreads(threads);
            using var model = Model.Create("cnn", train.Shape, train.Classes, seed: 0);
            using var optimizer = Optimizer.Create(model, new OptimizerOptions { LearningRate = 0.05, Momentum = 0.9, WeightDecay = 5e-4 });
            var sampler = new BatchSampler(train.Count, batchSize, seed: 1);
            var builder = new BatchBuilder(train, normalization, Augmentation.None, seed: 1);
            var clock = new Stopwatch();
            for (var step = 0; step < warmup + steps; step++)
            {
                if (step == warmup)
                {
                    clock.Start();
                }

                var batch = builder.Build(sampler.Batch(step), 0, step);
                using var x = batch.ImagesTensor();
                using var y = batch.LabelsTensor();
                optimizer.ZeroGrad();
                using var logits = model.Forward(x);
                using var loss = DistillationLoss.CrossEntropy(logits, y);
                loss.Total.Backward();
                optimizer.Step();
            }

            clock.Stop();
            result = steps * (double)batchSize / clock.Elapsed.TotalSeconds;
        });
        thread.Start();
        thread.Join();
        return result;
    }

    private static double TimePython(int steps, int warmup, int batchSize, int threads, string data)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "engine_bench.py");
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { script, "--steps", $"{steps}", "--warmup", $"{warmup}", "--batch", $"{batchSize}", "--threads", $"{threads}", "--data", data })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"engine_bench.py failed: {stderr}");
        }

        using var doc = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        return doc.RootElement.GetProperty("samples_per_s").GetDouble();
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string? PythonProblem()
    {
        if (!File.Exists(Python))
        {
            return $"{Python} not found";
        }

        using var p = Process.Start(new ProcessStartInfo(Python, "-c \"import torch\"") { RedirectStandardError = true, UseShellExecute = false })!;
        p.WaitForExit();
        return p.ExitCode == 0 ? null : "python3-torch not installed (apt-get install python3-torch)";
    }

    internal static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PeerDistill.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
