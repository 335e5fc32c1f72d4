using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using PeerDistill.Protocol.V1;
using PeerDistill.Tests.Shared;
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
        var request = new GetCohortRequest { Cohort = "trio" };

        // Kill the worker of one peer once that peer is past a checkpoint.
        var status = await cluster.WaitForAsync(request, s => s.Peers.Count == 3 && s.Peers.All(p => p.State == PeerState.Active) && s.Peers.Min(p => p.Step) >= 150, TimeSpan.FromMinutes(3));
        var victim = status.Peers.Single(p => p.WorkerId == "w2");
        var lostAtStep = victim.Step;
        var killedAt = DateTimeOffset.UtcNow;
        cluster.Kill("w2");

        status = await cluster.WaitForAsync(request, s => s.Peers.Single(p => p.Peer == victim.Peer).State == PeerState.Recovering, TimeSpan.FromSeconds(30));
        var lost = status.Events.First(e => e.Kind == "worker-lost");
        var detection = DateTimeOffset.FromUnixTimeMilliseconds(lost.UnixMillis) - killedAt;
        output.WriteLine($"worker w2 killed at step {lostAtStep} of '{victim.Peer}'; loss detected after {detection.TotalSeconds:F2} s");
        Assert.True(detection < TimeSpan.FromSeconds(5), $"loss detected after {detection.TotalSeconds:F2} s");

        // A restarted worker joins the cluster again and receives the lost peer (the only free slot).
        cluster.StartWorker("w2");
        status = await cluster.WaitForAsync(request, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(4));
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

        // The summary records the interruption; accuracies match an uninterrupted run within a point
        // (the peers ahead wait for the re-activated one: it catches up well within the step timeout).
        var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Directory.GetDirectories(Path.Combine(dir.Path, "runs", "trio")).Single(), "summary.json"))).RootElement;
        Assert.Contains(summary.GetProperty("interruptions").EnumerateArray(), e => e.GetProperty("kind").GetString() == "worker-lost");

        // The one summary schema: the keys an embedded run's summary has too.
        Assert.Equal(("peerdistill.summary/1", "distributed", "completed"), (summary.GetProperty("schema").GetString(), summary.GetProperty("mode").GetString(), summary.GetProperty("state").GetString()));
        Assert.All(summary.GetProperty("peers").EnumerateArray(), p => Assert.Equal(JsonValueKind.Number, p.GetProperty("test_accuracy").ValueKind));
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

    [Theory]
    [InlineData(2, 1)]
    [InlineData(1, 2)]
    public async Task SameSpec_EmbeddedAndDistributed_GiveIdenticalPerStepLosses(int workers, int slots)
    {
        // Two workers of one slot: every frame goes over gRPC. One worker of two slots: both peers
        // in one process, their frames handed over without the network and without the codec.
        using var dir = new TempDirectory();
        var spec = Path.Combine(CliProcess.Examples, "smoke.yaml");
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        for (var i = 1; i <= workers; i++)
        {
            cluster.StartWorker($"w{i}", slots);
            await cluster.WaitForLineAsync($"w{i}", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        }

        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--wait");
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var embedded = CliProcess.RunIn(dir.Path, "run", spec, "--output", Path.Combine(dir.Path, "embedded"));
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);

        var expected = MetricsFiles.Embedded(Path.Combine(dir.Path, "embedded"));
        var actual = MetricsFiles.Distributed(Directory.GetDirectories(Path.Combine(dir.Path, "runs", "smoke")).Single());
        Assert.Equal(282, expected.Count);
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (key, loss) in expected)
        {
            Assert.True(actual[key] == loss, $"{key}: embedded {loss:R}, distributed {actual[key]:R}");
        }
    }

    [PostgresFact]
    public async Task OnPostgres_KilledSiloHostingTheCohortGrain_CohortGoesOnFromItsStoredState_AndCompletes()
    {
        // On PostgreSQL the workers hold the database too, and the cohort grains live on them.
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "trio.yaml");
        await File.WriteAllTextAsync(spec, Trio.Replace("epochs: 30", "epochs: 12", StringComparison.Ordinal));
        string[] workers = ["w1", "w2", "w3", "w4"];
        var database = await PostgresServer.CreateDatabaseAsync("killed-grain-silo");
        await using var cluster = await Cluster.StartAsync(dir.Path, workers, output, database);
        foreach (var w in workers)
        {
            await cluster.WaitForLineAsync(w, "joined the cluster", 1, TimeSpan.FromSeconds(60));
        }

        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "trio" };
        var before = await cluster.WaitForAsync(request, s => s.Peers.All(p => p.State == PeerState.Active) && s.Peers.Min(p => p.Step) >= 60, TimeSpan.FromMinutes(2));

        // The worker whose silo hosts the cohort's grain says so when the run is submitted.
        var host = workers.Single(w => cluster.Printed(w, "cohort 'trio' run") > 0 && cluster.Printed(w, "submitted:") > 0);
        var hostedPeers = before.Peers.Where(p => p.WorkerId == host).Select(p => p.Peer).ToList();
        output.WriteLine($"the cohort grain lives on {host} (which also hosts: {string.Join(", ", hostedPeers)}); killing it at steps {string.Join(", ", before.Peers.Select(p => p.Step))}");
        cluster.Kill(host);

        // Another silo takes the grain over from its stored state, and the run completes.
        var clock = Stopwatch.StartNew();
        var status = await cluster.WaitForAsync(request, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(3));
        var takeover = workers.Where(w => w != host).Single(w => cluster.Printed(w, "carries on from its stored state") > 0);
        output.WriteLine($"the cohort grain came back on {takeover}; the run ended {status.State} {clock.Elapsed.TotalSeconds:F1} s after the kill");
        Assert.Equal(CohortState.Completed, status.State);
        Assert.Contains(status.Events, e => e.Kind == "submitted");
        Assert.Contains(status.Events, e => e.Kind == "running");
        Assert.All(status.Peers, p => Assert.Equal(p.TotalSteps, p.Step));
        foreach (var peer in status.Peers)
        {
            // A peer that lived with the grain came back from a checkpoint with the next generation; the others never stopped.
            Assert.Equal(hostedPeers.Contains(peer.Peer) ? 2UL : 1UL, peer.Generation);
        }

        var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Directory.GetDirectories(Path.Combine(dir.Path, "runs", "trio")).Single(), "summary.json"))).RootElement;
        Assert.Equal("completed", summary.GetProperty("state").GetString());
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

    [GeneratedRegex(@"resuming from step (\d+)")]
    private static partial Regex ResumeStep();
}
