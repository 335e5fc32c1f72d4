using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using PeerDistill.Rpc;
using PeerDistill.Rpc.Services;
using PeerDistill.Rpc.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// Distributed cohorts with real processes on loopback: a coordinator, workers, `submit`; a worker
/// killed with SIGKILL mid-run; and the same spec embedded and distributed step for step.
/// </summary>
public sealed partial class DistributedTests(ITestOutputHelper output)
{
    private const string Trio = """
        cohort: trio
        peers:
          - {name: a, model: mlp, model_options: {widths: [128]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 1}
          - {name: b, model: mlp, model_options: {widths: [96]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 2}
          - {name: c, model: mlp, model_options: {widths: [64]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 3}
        distillation: {strategy: dml, temperature: 1, alpha: 1}
        data:
          dataset: synthetic
          batch_size: 64
          epochs: 30
          synthetic: {train_count: 3000, test_count: 1000, noise: 0.6}
        checkpoints: {every_steps: 20, keep_last: 3}
        """;

    [Fact]
    public async Task KilledWorker_IsDetected_PeerResumesFromItsCheckpointOnARestartedWorker_CohortCompletes()
    {
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "trio.yaml");
        await File.WriteAllTextAsync(spec, Trio);
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2", "w3"], output);
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        using var channel = GrpcChannel.ForAddress(cluster.Url);
        var request = new GetCohortRequest { Cohort = "trio" };

        // Kill the worker of one peer once that peer is past a checkpoint.
        var status = await WaitForAsync(channel, request, s => s.Peers.Count == 3 && s.Peers.All(p => p.State == PeerState.Active) && s.Peers.Min(p => p.Step) >= 150, TimeSpan.FromMinutes(3));
        var victim = status.Peers.Single(p => p.WorkerId == "w2");
        var lostAtStep = victim.Step;
        var killedAt = DateTimeOffset.UtcNow;
        cluster.Kill("w2");

        status = await WaitForAsync(channel, request, s => s.Peers.Single(p => p.Peer == victim.Peer).State == PeerState.Recovering, TimeSpan.FromSeconds(30));
        var lost = status.Events.First(e => e.Kind == "worker-lost");
        var detection = DateTimeOffset.FromUnixTimeMilliseconds(lost.UnixMillis) - killedAt;
        output.WriteLine($"worker w2 killed at step {lostAtStep} of '{victim.Peer}'; loss detected after {detection.TotalSeconds:F2} s");
        Assert.True(detection < TimeSpan.FromSeconds(6), $"loss detected after {detection.TotalSeconds:F2} s");

        // A restarted worker registers again and receives the lost peer (the only free slot).
        cluster.StartWorker("w2");
        status = await WaitForAsync(channel, request, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(4));
        Assert.Equal(CohortState.Completed, status.State);
        var again = status.Peers.Single(p => p.Peer == victim.Peer);
        Assert.Equal(2UL, again.Generation);
        Assert.Equal("w2", again.WorkerId);
        var reactivated = status.Events.Last(e => e.Kind == "reactivated" && e.Peer == victim.Peer);
        var match = ResumeStep().Match(reactivated.Message);
        Assert.True(match.Success, $"expected a resume from a checkpoint, got: {reactivated.Message}");
        var resumedFrom = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // From its newest checkpoint (every 20 steps), at or after the last step the test saw before the kill.
        Assert.Equal(0, resumedFrom % 20);
        Assert.InRange(resumedFrom, Math.Max(20, lostAtStep - 20), again.TotalSteps - 1);

        // The summary records the interruption; accuracies match an uninterrupted run within a point.
        var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Directory.GetDirectories(Path.Combine(dir.Path, "runs", "trio")).Single(), "summary.json"))).RootElement;
        Assert.Contains(summary.GetProperty("interruptions").EnumerateArray(), e => e.GetProperty("kind").GetString() == "worker-lost");
        var embedded = CliProcess.RunIn(dir.Path, "run", spec, "--output", Path.Combine(dir.Path, "embedded"));
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);
        var reference = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir.Path, "embedded", "summary.json"))).RootElement;
        foreach (var peer in status.Peers)
        {
            var expected = ReferenceAccuracy(reference, peer.Peer);
            output.WriteLine($"{peer.Peer}: distributed {peer.Accuracy:F4} (generation {peer.Generation}), uninterrupted embedded {expected:F4}");
            Assert.True(Math.Abs(peer.Accuracy - expected) <= 0.01, $"{peer.Peer}: {peer.Accuracy:F4} vs uninterrupted {expected:F4}");
        }
    }

    [Fact]
    public async Task SameSpec_EmbeddedAndDistributed_GiveIdenticalPerStepLosses()
    {
        using var dir = new TempDirectory();
        var spec = Path.Combine(CliProcess.Examples, "smoke.yaml");
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output);
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--wait");
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var embedded = CliProcess.RunIn(dir.Path, "run", spec, "--output", Path.Combine(dir.Path, "embedded"));
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);

        var expected = StepLosses(File.ReadLines(Path.Combine(dir.Path, "embedded", "metrics.jsonl")));
        var runDir = Directory.GetDirectories(Path.Combine(dir.Path, "runs", "smoke")).Single();
        var actual = StepLosses(Directory.GetFiles(runDir, "metrics.*.jsonl").SelectMany(File.ReadLines));
        Assert.Equal(282, expected.Count);
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (key, loss) in expected)
        {
            Assert.True(actual[key] == loss, $"{key}: embedded {loss:R}, distributed {actual[key]:R}");
        }
    }

    private static double ReferenceAccuracy(JsonElement summary, string peer)
    {
        var run = summary.GetProperty("runs").EnumerateObject().First().Value;
        foreach (var p in run.GetProperty("peers").EnumerateArray())
        {
            if (p.GetProperty("peer").GetString() == peer)
            {
                return p.GetProperty("test_accuracy").GetDouble();
            }
        }

        throw new KeyNotFoundException($"peer '{peer}' not in the embedded summary");
    }

    private static Dictionary<(string, long), double> StepLosses(IEnumerable<string> lines)
    {
        var result = new Dictionary<(string, long), double>();
        foreach (var line in lines)
        {
            var e = JsonDocument.Parse(line).RootElement;
            if (e.GetProperty("type").GetString() == "step")
            {
                result[(e.GetProperty("peer").GetString()!, e.GetProperty("step").GetInt64())] = e.GetProperty("loss").GetDouble();
            }
        }

        return result;
    }

    private static async Task<CohortStatus> WaitForAsync(GrpcChannel channel, GetCohortRequest request, Func<CohortStatus, bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        CohortStatus? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                last = await channel.CallInvoker.AsyncUnaryCall(CohortServiceMethods.GetCohort, new CallOptions().WithTimeout(TimeSpan.FromSeconds(5)), request);
                if (done(last))
                {
                    return last;
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"cohort did not reach the expected state in {timeout}; last: {last}");
    }

    [GeneratedRegex(@"resuming from step (\d+)")]
    private static partial Regex ResumeStep();

    /// <summary>A coordinator and named workers as real processes; killed (whole trees) on dispose.</summary>
    private sealed class Cluster : IAsyncDisposable
    {
        private readonly string _dir;
        private readonly ITestOutputHelper _output;
        private readonly Process _coordinator;
        private readonly Dictionary<string, Process> _workers = new();
        private readonly List<Process> _all = new();

        private Cluster(string dir, Process coordinator, string url, ITestOutputHelper output)
        {
            _dir = dir;
            _coordinator = coordinator;
            Url = url;
            _output = output;
            _all.Add(coordinator);
        }

        public string Url { get; }

        public static async Task<Cluster> StartAsync(string dir, string[] workers, ITestOutputHelper output)
        {
            var coordinator = CliProcess.Start(dir, "coordinator", "--port", "0", "--output", Path.Combine(dir, "runs"));
            var url = await ReadUrlAsync(coordinator);
            var cluster = new Cluster(dir, coordinator, url, output);
            foreach (var w in workers)
            {
                cluster.StartWorker(w);
            }

            return cluster;
        }

        public void StartWorker(string id)
        {
            var p = CliProcess.Start(_dir, "worker", "--coordinator", Url, "--slots", "1", "--id", id);
            p.OutputDataReceived += (_, e) => Log(id, e.Data);
            p.ErrorDataReceived += (_, e) => Log(id, e.Data);
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _workers[id] = p;
            _all.Add(p);
        }

        public void Kill(string id)
        {
            _workers[id].Kill(entireProcessTree: true);
            _workers[id].WaitForExit();
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var p in _all)
            {
                try
                {
                    if (!p.HasExited)
                    {
                        p.Kill(entireProcessTree: true);
                        await p.WaitForExitAsync();
                    }
                }
                catch (InvalidOperationException)
                {
                }

                p.Dispose();
            }
        }

        private void Log(string who, string? line)
        {
            if (line is not null)
            {
                try
                {
                    _output.WriteLine($"[{who}] {line}");
                }
                catch (InvalidOperationException)
                {
                    // The test is over.
                }
            }
        }

        private static async Task<string> ReadUrlAsync(Process coordinator)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                var line = await coordinator.StandardOutput.ReadLineAsync(cts.Token) ?? throw new InvalidOperationException("the coordinator exited: " + await coordinator.StandardError.ReadToEndAsync());
                var m = Regex.Match(line, @"listening at (http://\S+)");
                if (m.Success)
                {
                    // Keep draining its output so that it never blocks on a full pipe.
                    _ = coordinator.StandardOutput.ReadToEndAsync();
                    _ = coordinator.StandardError.ReadToEndAsync();
                    return m.Groups[1].Value.TrimEnd('/');
                }
            }
        }
    }

    private sealed class TempDirectory : IDisposable
    {
        public TempDirectory() => Path = Directory.CreateTempSubdirectory("peerdistill-distributed-").FullName;

        public string Path { get; }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
