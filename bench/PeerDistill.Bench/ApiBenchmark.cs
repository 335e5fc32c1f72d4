using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerDistill.Api;
using PeerDistill.Api.Access;
using PeerDistill.Api.Model;
using PeerDistill.Api.Storage;

namespace PeerDistill.Bench;

/// <summary>
/// `bench api`: the REST API under load while a cohort trains. A coordinator and two workers in this
/// process (one CPU slot each) train a pair of small mlp peers; in alternating windows of equal length
/// the API is idle, or Debian's `wrk` (a bounded number of connections, for a bounded time) loads
/// get-run or list-runs: as fast as it answers (saturating), and paced (each connection waits between
/// requests, wrk's Lua delay(): the load of dashboards and scripts polling). Reports requests/s with
/// p50/p99 latency, the training's steps/s in each
/// window and the ratio to the idle windows beside it (the step's slowdown under that load), and the
/// metrics history rows/s the coordinator wrote meanwhile. The cost of writing that history is measured
/// apart: windows without load in which the coordinator's projection into the database is suspended,
/// against the idle windows (which write it) beside them. Ratios come from windows of one run.
/// </summary>
internal static partial class ApiBenchmark
{
    private const string Wrk = "/usr/bin/wrk";

    /// <summary>The windows in which the coordinator writes no history (its projection suspended).</summary>
    private const string NoHistory = "no-history";

    private const string Spec = """
        cohort: api-bench
        peers:
          - {name: a, model: mlp, model_options: {widths: [64]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 1}
          - {name: b, model: mlp, model_options: {widths: [48]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 2}
        distillation: {strategy: dml, temperature: 1, alpha: 1}
        data:
          dataset: synthetic
          batch_size: 32
          epochs: 10000
          synthetic: {train_count: 8000, test_count: 200, noise: 0.5}
        evaluation: {at_epoch_end: false}
        checkpoints: {every_steps: 1000000, keep_last: 1}
        exchange: {step_timeout_seconds: 600}
        """;

    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var a = new BenchArgs(args);
        var rounds = a.Int("rounds", 3);
        var seconds = a.Int("seconds", 10);
        var connections = a.Int("connections", 8);
        var pacedRate = a.Int("paced-rate", 100);
        var report = a.String("report", Path.Combine(EngineBenchmark.FindRepoRoot(), "bench", "reports", "api.json"));
        if (!File.Exists(Wrk))
        {
            Console.Error.WriteLine($"bench api needs wrk ({Wrk}): apt-get install wrk (./build.sh bench installs it)");
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"api benchmark: coordinator + 2 workers in this process (1 cpu slot each), a dml pair of mlp peers training; {rounds} rounds of {seconds} s windows, each load between idle ones: get-run and list-runs saturating (wrk -t1 -c{connections}) and paced (~{pacedRate} requests/s); {Environment.ProcessorCount} cores"));
        var root = Directory.CreateTempSubdirectory("peerdistill-bench-api-");
        // Paced: 4 connections, each waiting between requests so that together they send about pacedRate/s.
        var pace = Path.Combine(root.FullName, "paced.lua");
        await File.WriteAllTextAsync(pace, string.Create(CultureInfo.InvariantCulture, $"function delay()\n  return {4000.0 / pacedRate:F1}\nend\n"));
        CoordinatorNode? coordinator = null;
        var workers = new List<Cluster.Hosting.WorkerNode>();
        try
        {
            coordinator = await BenchHosts.StartCoordinatorAsync(root.FullName, LogLevel.Warning);
            for (var i = 0; i < 2; i++)
            {
                workers.Add(await BenchHosts.StartWorkerAsync(coordinator.ClusterEndpoint, $"bench-api-{i + 1}", LogLevel.Warning));
            }

            var api = coordinator.Services.GetRequiredService<CohortApi>();
            var writer = coordinator.Services.GetRequiredService<MetricsWriter>();
            var projection = coordinator.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<RunProjection>().Single();
            var submitted = await api.SubmitAsync(ApiCaller.Coordinator, Spec, "yaml", null, CancellationToken.None);
            var run = await WaitAsync(api, submitted, v => v.Peers.All(p => p.State == PeerState.Active && p.Step >= 200), TimeSpan.FromMinutes(3));
            var metrics = run.Peers.Select(p => Path.Combine(run.OutputDirectory, $"metrics.{p.Name}.jsonl")).ToList();
            var getRun = $"{coordinator.HttpAddress}api/v1/runs/{run.Cohort}/{run.Run}";
            var listRuns = $"{coordinator.HttpAddress}api/v1/runs?limit=20";
            Console.WriteLine($"  run {run.Run} training; get-run {getRun}; list-runs {listRuns}");

            var windows = new List<Window>();
            var writtenBefore = writer.Written;
            var clock = Stopwatch.StartNew();
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var (name, url, paced) in new (string, string?, bool)[] { ("idle", null, false), ("get-run", getRun, false), ("idle", null, false), ("list-runs", listRuns, false), ("idle", null, false), ("get-run-paced", getRun, true), ("idle", null, false), ("list-runs-paced", listRuns, true), ("idle", null, false), (NoHistory, null, false), ("idle", null, false), (NoHistory, null, false) })
                {
                    projection.Suspend(name == NoHistory);
                    var window = await MeasureAsync(name, url, metrics, seconds, paced ? 4 : connections, paced ? pace : null, coordinator.FirstAdminToken!);
                    projection.Suspend(false);
                    if (name == NoHistory)
                    {
                        await CaughtUpAsync(writer); // the projection catches up outside every window
                    }
                    windows.Add(window);
                    var line = string.Create(CultureInfo.InvariantCulture, $"  round {round} {name,-15} steps/s {window.StepsPerSecond,7:F1}");
                    if (window.Load is { } l)
                    {
                        line += string.Create(CultureInfo.InvariantCulture, $"  requests/s {l.RequestsPerSecond,8:F0}  p50 {l.P50Ms,6:F2} ms  p99 {l.P99Ms,7:F2} ms  errors {l.Errors}");
                    }

                    Console.WriteLine(line);
                }
            }

            var rowsPerSecond = (writer.Written - writtenBefore) / clock.Elapsed.TotalSeconds;
            var still = await api.GetAsync(ApiCaller.Coordinator, "bench", run.Cohort, run.Run, CancellationToken.None);
            if (still.State != RunState.Running)
            {
                Console.Error.WriteLine($"the cohort is {still.State} at the end of the measurement: the windows are not comparable (give it more epochs)");
                return 1;
            }

            await api.CancelAsync(ApiCaller.Coordinator, run.Cohort, run.Run, "benchmark over", null, CancellationToken.None);
            await WaitAsync(api, submitted, v => v.IsFinished && v.Peers.All(p => p.State != PeerState.Active), TimeSpan.FromMinutes(1));

            // The history's own cost, with nothing training: a fresh projection reads the run's metrics
            // files from the start and writes every row again (each (run, peer, step) is kept once, so
            // this also walks the database's conflict path); the process's CPU time per row written.
            await Task.Delay(RunProjection.Interval * 3);
            var replay = ActivatorUtilities.CreateInstance<RunProjection>(coordinator.Services);
            var (cpuBefore, rowsBefore) = (Process.GetCurrentProcess().TotalProcessorTime, writer.Written);
            while (!replay.HasCaughtUp(run.Cohort, run.Run))
            {
                await replay.ScanAsync(CancellationToken.None); // a pass reads until the writer's buffer is full
                await Task.Delay(20);
            }

            while (writer.Buffered > 0)
            {
                await Task.Delay(20);
            }

            await Task.Delay(200); // the last batch in flight
            var replayed = writer.Written - rowsBefore;
            var cpuPerRow = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds / Math.Max(1, replayed);
            var historyShare = rowsPerSecond * cpuPerRow / Environment.ProcessorCount;

            // Each loaded window against the mean of the idle windows on either side of it.
            var ratios = new Dictionary<string, List<double>>();
            for (var i = 0; i < windows.Count; i++)
            {
                if (windows[i].Name == "idle")
                {
                    continue;
                }

                var idle = new[] { i - 1, i + 1 }.Where(j => j >= 0 && j < windows.Count && windows[j].Name == "idle").Select(j => windows[j].StepsPerSecond).ToList();
                if (idle.Count == 0)
                {
                    idle = [windows[i - 1].StepsPerSecond];
                }

                if (!ratios.TryGetValue(windows[i].Name, out var list))
                {
                    ratios[windows[i].Name] = list = [];
                }

                list.Add(windows[i].StepsPerSecond / idle.Average());
            }

            Console.WriteLine("summary (median over rounds):");
            var summary = new Dictionary<string, object>();
            foreach (var name in new[] { "get-run", "list-runs", "get-run-paced", "list-runs-paced" })
            {
                var loaded = windows.Where(w => w.Name == name).ToList();
                var median = Median(ratios[name]);
                var rps = Median(loaded.Select(w => w.Load!.RequestsPerSecond).ToList());
                var p50 = Median(loaded.Select(w => w.Load!.P50Ms).ToList());
                var p99 = Median(loaded.Select(w => w.Load!.P99Ms).ToList());
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {name,-15} {rps,8:F0} requests/s, p50 {p50:F2} ms, p99 {p99:F2} ms; training steps/s under it {median:F3}x the idle windows beside it (slowdown {(1 - median) * 100:F1}%; target <= 5%)"));
                summary[name] = new { requests_per_s = rps, p50_ms = p50, p99_ms = p99, step_rate_ratio = median, step_rate_ratios = ratios[name] };
            }

            var withoutHistory = Median(ratios[NoHistory]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  metrics history: {rowsPerSecond:F0} rows/s written (dropped: {writer.Dropped}); training steps/s with it {1 / withoutHistory:F3}x the windows without it (median; {ratios[NoHistory].Min(r => 1 / r):F2}x to {ratios[NoHistory].Max(r => 1 / r):F2}x over {ratios[NoHistory].Count} windows)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  metrics history cost: {cpuPerRow * 1e6:F1} us of CPU per row (read, parsed, written; {replayed} rows replayed with nothing training) -> {historyShare * 100:F2}% of the machine's {Environment.ProcessorCount} cores at {rowsPerSecond:F0} rows/s (target <= 2% of the step)"));
            Directory.CreateDirectory(Path.GetDirectoryName(report)!);
            await File.WriteAllTextAsync(report, JsonSerializer.Serialize(new
            {
                benchmark = "api",
                date = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                cores = Environment.ProcessorCount,
                rounds,
                window_seconds = seconds,
                wrk_connections = connections,
                load = summary,
                metrics_rows_per_s = rowsPerSecond,
                metrics_rows_dropped = writer.Dropped,
                metrics_history_step_rate_ratio = 1 / withoutHistory,
                metrics_history_step_rate_ratios = ratios[NoHistory].Select(r => 1 / r).ToList(),
                metrics_history_cpu_us_per_row = cpuPerRow * 1e6,
                metrics_history_replayed_rows = replayed,
                metrics_history_machine_share = historyShare,
                windows = windows.Select(w => new { name = w.Name, steps_per_s = w.StepsPerSecond, requests_per_s = w.Load?.RequestsPerSecond, p50_ms = w.Load?.P50Ms, p99_ms = w.Load?.P99Ms, errors = w.Load?.Errors }),
            }, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"report: {report}");
            return 0;
        }
        finally
        {
            foreach (var w in workers)
            {
                await w.DisposeAsync();
            }

            if (coordinator is not null)
            {
                await coordinator.DisposeAsync();
            }

            root.Delete(recursive: true);
        }
    }

    /// <summary>Waits (at most 30 s) until the projection has read what it missed and the writer has drained it.</summary>
    private static async Task CaughtUpAsync(MetricsWriter writer)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        await Task.Delay(RunProjection.Interval * 2);
        while (DateTime.UtcNow < deadline && writer.Buffered > MetricsWriterOptions.DefaultBatchSize)
        {
            await Task.Delay(100);
        }

        await Task.Delay(RunProjection.Interval);
    }

    private static async Task<RunView> WaitAsync(CohortApi api, SubmittedRun run, Func<RunView, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var view = await api.GetAsync(ApiCaller.Coordinator, "bench", run.Cohort, run.Run, CancellationToken.None);
            if (done(view))
            {
                return view;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the cohort did not start training within {timeout.TotalSeconds:0} s (state {view.State})");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>The training's steps/s over one window (step lines the peers wrote), with wrk loading <paramref name="url"/> through it when given.</summary>
    private static async Task<Window> MeasureAsync(string name, string? url, IReadOnlyList<string> metrics, int seconds, int connections, string? script, string token)
    {
        var before = StepLines(metrics);
        var clock = Stopwatch.StartNew();
        Load? load = null;
        if (url is null)
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds));
        }
        else
        {
            string[] arguments = ["-t1", $"-c{connections}", $"-d{seconds}s", "--latency", "--timeout", "5s", "-H", "Authorization: Bearer " + token, .. script is null ? Array.Empty<string>() : ["-s", script], url];
            var wrk = Process.Start(new ProcessStartInfo(Wrk, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = await wrk.StandardOutput.ReadToEndAsync();
            await wrk.WaitForExitAsync();
            load = ParseWrk(output);
        }

        var elapsed = clock.Elapsed.TotalSeconds;
        return new Window(name, (StepLines(metrics) - before) / elapsed, load);
    }

    private static long StepLines(IReadOnlyList<string> metrics) =>
        metrics.Sum(path => File.ReadLines(path).LongCount(l => l.StartsWith("{\"type\":\"step\"", StringComparison.Ordinal)));

    private static Load ParseWrk(string output)
    {
        double Latency(string percent)
        {
            var m = Regex.Match(output, $@"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
            if (!m.Success)
            {
                throw new InvalidOperationException($"wrk printed no {percent}% latency:\n{output}");
            }

            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            return m.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
        }

        var rps = RequestsPerSecond().Match(output);
        var errors = Non2xx().Match(output);
        return new Load(
            rps.Success ? double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture) : throw new InvalidOperationException($"wrk printed no Requests/sec:\n{output}"),
            Latency("50"),
            Latency("99"),
            errors.Success ? long.Parse(errors.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xx();

    private sealed record Window(string Name, double StepsPerSecond, Load? Load);

    private sealed record Load(double RequestsPerSecond, double P50Ms, double P99Ms, long Errors);
}
