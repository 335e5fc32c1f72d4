using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using PeerDistill.Protocol;
using PeerDistill.Protocol.V1;
using PeerDistill.Tests.Shared;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// What an outsider or a crash does to a distributed cohort, with real processes on loopback: a
/// deeply nested spec on every door, a model only the engine can refuse, a peer stopped while it
/// waits for a frozen teacher, a coordinator killed and restarted under its workers.
/// </summary>
public sealed class HardeningTests(ITestOutputHelper output)
{
    /// <summary>About 100 KB of JSON nested 50,000 levels deep: it overflowed the stack of whichever process parsed it.</summary>
    private static readonly string Deep = "{\"cohort\": \"deep\", \"peers\": " + new string('[', 50_000) + new string(']', 50_000) + "}";

    [Fact]
    public async Task DeepSpec_RefusedFastOnValidateRunAndSubmit_AndEveryProcessGoesOnServing()
    {
        using var dir = new TempDirectory();
        var deep = Path.Combine(dir.Path, "deep.json");
        await File.WriteAllTextAsync(deep, Deep);
        var smoke = Path.Combine(CliProcess.Examples, "smoke.yaml");

        foreach (var command in new[] { "validate", "run" })
        {
            var (code, stdout, stderr) = CliProcess.RunIn(dir.Path, command, deep);
            Assert.True(code == 2, $"{command}: exit {code}\n{stdout}\n{stderr}");
            Assert.Contains("nested deeper than 32 levels", stderr, StringComparison.Ordinal);
        }

        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output);
        using var coordinator = cluster.Coordinator();
        // The connection and the first call of Submit (its code compiled, its refusal audited for the
        // first time: a spec refused for another reason) are not what is timed: the deep spec's refusal is.
        await new CohortService.CohortServiceClient(coordinator).ListCohortsAsync(new ListCohortsRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
        var shallow = await Assert.ThrowsAsync<RpcException>(() => new CohortService.CohortServiceClient(coordinator).SubmitAsync(new SubmitCohortRequest { SpecText = "{\"cohort\": \"x\"}", SpecFormat = "json" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30))).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, shallow.StatusCode);
        var clock = Stopwatch.StartNew();
        var submit = await Assert.ThrowsAsync<RpcException>(() => new CohortService.CohortServiceClient(coordinator).SubmitAsync(new SubmitCohortRequest { SpecText = Deep, SpecFormat = "json" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30))).ResponseAsync);
        var submitTime = clock.Elapsed;
        Assert.Equal(StatusCode.InvalidArgument, submit.StatusCode);
        Assert.Contains("nested deeper than 32 levels", submit.Status.Detail, StringComparison.Ordinal);
        output.WriteLine($"deep spec refused by Submit in {submitTime.TotalMilliseconds:F0} ms");
        Assert.True(submitTime < TimeSpan.FromSeconds(1), $"Submit {submitTime}");

        // Every process still serves: a real cohort runs to the end.
        await cluster.WaitForLineAsync("w2", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        var run = CliProcess.RunIn(dir.Path, "submit", smoke, "--coordinator", cluster.Url, "--wait");
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
    }

    [Fact]
    public async Task ModelTheEngineRefuses_FailsTheCohortOnTheSiloThatHostsIt_NamingPeerAndField()
    {
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "bad-model.yaml");
        // The coordinator does not load the engine: it accepts the spec, the silo that builds the peer refuses it.
        var text = (await File.ReadAllTextAsync(Path.Combine(CliProcess.Examples, "smoke.yaml"))).Replace("model: cnn", "model: no-such-model", StringComparison.Ordinal);
        await File.WriteAllTextAsync(spec, text);
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output);
        await cluster.WaitForLineAsync("w2", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        using var coordinator = cluster.Coordinator();
        var reply = await new CohortService.CohortServiceClient(coordinator).SubmitAsync(new SubmitCohortRequest { SpecText = text, SpecFormat = "yaml" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
        var status = await cluster.WaitForAsync(new GetCohortRequest { Cohort = reply.Cohort }, s => s.State is CohortState.Failed or CohortState.Completed, TimeSpan.FromMinutes(1));
        Assert.Equal(CohortState.Failed, status.State);
        var failed = status.Peers.Single(p => p.Peer == "cnn");
        Assert.Equal(PeerState.Failed, failed.State);
        Assert.Contains("peer 'cnn' cannot start", failed.Message, StringComparison.Ordinal);
        Assert.Contains("peers[1].model", failed.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cancel")]
    [InlineData("sigterm")]
    public async Task PeerStoppedWhileWaitingForAFrozenTeacher_CheckpointsItsLastStep_AndResumesFromIt(string how)
    {
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair);
        // Two spare workers: Orleans declares a frozen silo dead within seconds, so the frozen
        // teacher is re-activated on one of them (from scratch: this spec writes no periodic
        // checkpoints, and it stays behind the waiter, which goes on waiting for it).
        string[] workers = ["w1", "w2", "w3", "w4"];
        await using var cluster = await Cluster.StartAsync(dir.Path, workers, output);
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "pair" };
        var status = await cluster.WaitForAsync(request, s => s.Peers.All(p => p.State == PeerState.Active) && s.Peers.Min(p => p.Step) >= 30, TimeSpan.FromMinutes(2));
        var (waiter, teacher) = (status.Peers.Single(p => p.Peer == "a"), status.Peers.Single(p => p.Peer == "b"));

        // Freeze the teacher's worker: the waiter blocks in its exchange, waiting for the teacher's logits.
        cluster.Signal(teacher.WorkerId, "STOP");
        // The waiter says so: its status turns STALLED, naming the step and the teacher, and its worker warns.
        status = await cluster.WaitForAsync(request, s => s.Peers.Single(p => p.Peer == "a").State == PeerState.Stalled, TimeSpan.FromMinutes(2));
        var stalled = status.Peers.Single(p => p.Peer == "a");
        var stuck = stalled.Step;
        output.WriteLine($"'a' waits at step {stuck} for 'b' (frozen on {teacher.WorkerId}): {stalled.Message}; stopping it by {how}");
        Assert.Contains($"at step {stuck} for", stalled.Message, StringComparison.Ordinal);
        Assert.Contains("'b'", stalled.Message, StringComparison.Ordinal);
        await cluster.WaitForLineAsync(waiter.WorkerId, $"peer 'a' has waited", 1, TimeSpan.FromSeconds(30));
        Assert.Contains("'b'", cluster.Lines(waiter.WorkerId, "peer 'a' has waited")[0], StringComparison.Ordinal);

        var checkpoints = Path.Combine(Directory.GetDirectories(Path.Combine(cluster.Runs, "pair")).Single(), "checkpoints", status.Run, "a");
        var cancelledAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (how == "cancel")
        {
            using var coordinator = cluster.Coordinator();
            var cancelled = await new CohortService.CohortServiceClient(coordinator).CancelCohortAsync(new CancelCohortRequest { Cohort = "pair", Reason = "test" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
            Assert.Equal(CohortState.Cancelled, cancelled.State);
        }
        else
        {
            cluster.Signal(waiter.WorkerId, "TERM");
            Assert.True(cluster.WaitForExit(waiter.WorkerId, TimeSpan.FromSeconds(60)), "the worker did not exit after SIGTERM");
        }

        Assert.True(File.Exists(Path.Combine(checkpoints, $"step-{stuck.ToString("D8", CultureInfo.InvariantCulture)}.ckpt")), $"no checkpoint of step {stuck} in {checkpoints}: {string.Join(", ", Directory.Exists(checkpoints) ? Directory.GetFiles(checkpoints) : [])}");

        if (how == "cancel")
        {
            // A cancelled run ends; nothing is re-activated after that (the frozen teacher may have
            // been, before: Orleans declares a frozen silo dead while the waiter waits).
            status = await cluster.WaitForAsync(request, s => s.State == CohortState.Cancelled, TimeSpan.FromSeconds(30));
            Assert.DoesNotContain(status.Events, e => e.Kind == "reactivated" && (e.Peer == "a" || e.UnixMillis >= cancelledAt));
            cluster.Signal(teacher.WorkerId, "CONT");
            return;
        }

        // Its cohort re-activates it on a spare worker, from exactly that step.
        status = await cluster.WaitForAsync(request, s => s.Events.Any(e => e.Peer == "a" && e.Kind == "reactivated"), TimeSpan.FromSeconds(30));
        var reactivated = status.Events.Last(e => e.Peer == "a" && e.Kind == "reactivated");
        Assert.DoesNotContain($"on worker '{waiter.WorkerId}'", reactivated.Message, StringComparison.Ordinal);
        Assert.DoesNotContain($"on worker '{teacher.WorkerId}'", reactivated.Message, StringComparison.Ordinal);
        Assert.Contains($"resuming from step {stuck}", reactivated.Message, StringComparison.Ordinal);

        cluster.Signal(teacher.WorkerId, "CONT");
        using var channel = cluster.Coordinator();
        await new CohortService.CohortServiceClient(channel).CancelCohortAsync(new CancelCohortRequest { Cohort = "pair", Reason = "test over" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)));
    }

    [Fact]
    public async Task CoordinatorKilledAndRestarted_OnItsDatabase_TheSameRunGoesOnFromItsCheckpoints_NoStepTwiceOrMissing()
    {
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair);
        // A metrics buffer of 16 rows: far fewer than the files hold when the restarted coordinator
        // reads them from the start, so the history is whole only if the reading waits for room.
        var smallBuffer = new Dictionary<string, string> { ["PEERDISTILL_COORDINATOR__DATABASE__METRICS__CAPACITY"] = "16", ["PEERDISTILL_COORDINATOR__DATABASE__METRICS__BATCHSIZE"] = "4" };
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output, coordinatorEnvironment: smallBuffer);
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "pair" };
        var before = await cluster.WaitForAsync(request, s => s.Peers.All(p => p.State == PeerState.Active) && s.Peers.Min(p => p.Step) >= 30, TimeSpan.FromMinutes(2));

        // SIGKILL; the new coordinator opens the same SQLite database (the same data directory).
        await cluster.RestartCoordinatorAsync();
        foreach (var w in new[] { "w1", "w2" })
        {
            await cluster.WaitForLineAsync(w, "leaves its cluster", 1, TimeSpan.FromSeconds(60));
            await cluster.WaitForLineAsync(w, "joined the cluster", 2, TimeSpan.FromSeconds(120));
        }

        // Each orphan stopped at a step boundary with a checkpoint of it.
        var runDir = Path.Combine(cluster.Runs, "pair", before.Run);
        var stoppedAt = new Dictionary<string, long>();
        foreach (var peer in new[] { "a", "b" })
        {
            var checkpoints = Directory.GetFiles(Path.Combine(runDir, "checkpoints", before.Run, peer), "step-*.ckpt").Order(StringComparer.Ordinal).ToList();
            Assert.NotEmpty(checkpoints);
            stoppedAt[peer] = long.Parse(Path.GetFileNameWithoutExtension(checkpoints[^1])[5..], CultureInfo.InvariantCulture);
            Assert.True(stoppedAt[peer] >= 30, $"'{peer}' checkpoint at {stoppedAt[peer]}");
        }

        // The restarted coordinator serves the same run, which goes on by itself (nobody submits it
        // again): each peer re-activated once, from exactly the step it stopped at.
        var after = await cluster.WaitForAsync(request, s => s.Run == before.Run && s.Peers.All(p => p.State == PeerState.Active && p.Generation == 2 && p.Step >= stoppedAt[p.Peer] + 30), TimeSpan.FromMinutes(3));
        foreach (var peer in after.Peers)
        {
            var reactivated = after.Events.Last(e => e.Peer == peer.Peer && e.Kind == "reactivated");
            Assert.Contains($"resuming from step {stoppedAt[peer.Peer]}", reactivated.Message, StringComparison.Ordinal);
        }

        Assert.Contains(after.Events, e => e.Kind == "submitted");

        // Cancelled, every step is in the metrics once (none twice across the restart, none missing), in the
        // files and in the database's history; the database's tables hold the run as it ended.
        await CancelAndAssertRecordedAsync(cluster, runDir, before.Run, () => ServiceTables.ReadSqliteAsync(Path.Combine(dir.Path, "data"), "pair", before.Run), generation: 2, minSteps: stoppedAt.ToDictionary(s => s.Key, s => s.Value + 30));
    }

    [PostgresFact]
    public async Task OnPostgres_CoordinatorKilledAndRestarted_PeersTrainOnWithoutStopping_TheSameRunServed()
    {
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair);
        var database = await PostgresServer.CreateDatabaseAsync("coordinator-restart");
        await using var cluster = await Cluster.StartAsync(dir.Path, ["w1", "w2"], output, database);
        foreach (var w in new[] { "w1", "w2" })
        {
            await cluster.WaitForLineAsync(w, "joined the cluster", 1, TimeSpan.FromSeconds(60));
        }

        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var request = new GetCohortRequest { Cohort = "pair" };
        var before = await cluster.WaitForAsync(request, s => s.Peers.All(p => p.State == PeerState.Active) && s.Peers.Min(p => p.Step) >= 30, TimeSpan.FromMinutes(2));

        // SIGKILL the coordinator; the workers and the cohort grain (on a worker) stay in the cluster.
        await cluster.RestartCoordinatorAsync();
        foreach (var w in new[] { "w1", "w2" })
        {
            await cluster.WaitForLineAsync(w, "joined the new coordinator's slot board", 1, TimeSpan.FromSeconds(120));
        }

        // The restarted coordinator serves the same run, whose peers never stopped: generation 1 still,
        // well past where they were, and no worker stopped a peer or left its cluster.
        var after = await cluster.WaitForAsync(request, s => s.Run == before.Run && s.Peers.All(p => p.State == PeerState.Active && p.Step >= before.Peers.Max(b => b.Step) + 100), TimeSpan.FromMinutes(2));
        Assert.All(after.Peers, p => Assert.Equal(1UL, p.Generation));
        Assert.DoesNotContain(after.Events, e => e.Kind is "reactivated" or "worker-lost" or "interrupted");
        foreach (var w in new[] { "w1", "w2" })
        {
            Assert.Equal(0, cluster.Printed(w, "leaves its cluster"));
            Assert.Equal(0, cluster.Printed(w, "stopping peer"));
        }

        // The new slot board knows which slots the peers hold.
        using var http = cluster.Http();
        using (var workers = JsonDocument.Parse(await http.GetStringAsync("api/v1/workers")))
        {
            var held = workers.RootElement.GetProperty("workers").EnumerateArray().SelectMany(w => w.GetProperty("slots").EnumerateArray()).Select(s => s.GetProperty("peer").GetString()).OfType<string>().Order(StringComparer.Ordinal).ToList();
            Assert.Equal([$"pair/{before.Run}/a", $"pair/{before.Run}/b"], held);
        }

        await CancelAndAssertRecordedAsync(cluster, Path.Combine(cluster.Runs, "pair", before.Run), before.Run, () => ServiceTables.ReadPostgresAsync(database, "pair", before.Run), generation: 1, minSteps: after.Peers.ToDictionary(p => p.Peer, p => p.Step));
    }

    /// <summary>
    /// Cancels the run that went through a coordinator restart, then checks: each peer's steps are in
    /// its metrics file once each from 0 (at least <paramref name="minSteps"/>), the metrics history
    /// (over REST and in the table) holds the same steps, and the database's tables hold the run as it
    /// ended: its state and spec, its peers at <paramref name="generation"/>, each event once (ids 1..n,
    /// 'submitted' once although two coordinators projected it), and the checkpoint files indexed.
    /// </summary>
    private static async Task CancelAndAssertRecordedAsync(Cluster cluster, string runDir, string run, Func<Task<ServiceTables>> read, long generation, IReadOnlyDictionary<string, long> minSteps)
    {
        using (var channel = cluster.Coordinator())
        {
            await new CohortService.CohortServiceClient(channel).CancelCohortAsync(new CancelCohortRequest { Cohort = "pair", Reason = "test over" }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
        }

        await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.State == CohortState.Cancelled && s.Peers.All(p => p.State != PeerState.Active), TimeSpan.FromSeconds(60));

        var steps = new Dictionary<string, List<long>>();
        foreach (var peer in new[] { "a", "b" })
        {
            steps[peer] = File.ReadLines(Path.Combine(runDir, $"metrics.{peer}.jsonl"))
                .Select(l => JsonDocument.Parse(l).RootElement)
                .Where(e => e.GetProperty("type").GetString() == "step")
                .Select(e => e.GetProperty("step").GetInt64())
                .ToList();
            Assert.Equal(steps[peer].Count, steps[peer].Distinct().Count());
            Assert.Equal(Enumerable.Range(0, steps[peer].Count).Select(i => (long)i), steps[peer].Order());
            Assert.True(steps[peer].Count > minSteps[peer], $"'{peer}' recorded {steps[peer].Count} steps, expected more than {minSteps[peer]}");
        }

        var checkpointFiles = Directory.GetFiles(Path.Combine(runDir, "checkpoints", run), "step-*.ckpt", SearchOption.AllDirectories)
            .Select(f => (Peer: Path.GetFileName(Path.GetDirectoryName(f))!, Step: long.Parse(Path.GetFileNameWithoutExtension(f)[5..], CultureInfo.InvariantCulture)))
            .OrderBy(c => c.Peer, StringComparer.Ordinal).ThenBy(c => c.Step).ToList();
        var tables = await ServiceTables.WaitAsync(read, t =>
            t.State == "cancelled" && t.Peers.All(p => p.State != "active")
            && steps.All(s => t.MetricSteps.TryGetValue(s.Key, out var h) && h.Count >= s.Value.Count)
            && t.Checkpoints.Select(c => (c.Peer, c.Step)).SequenceEqual(checkpointFiles), TimeSpan.FromSeconds(60));

        using var http = cluster.Http();
        foreach (var (peer, fileSteps) in steps)
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync($"api/v1/runs/pair/{run}/metrics?peer={peer}"));
            var history = document.RootElement.GetProperty("points").EnumerateArray().Where(p => p.GetProperty("loss").ValueKind == JsonValueKind.Number).Select(p => p.GetProperty("step").GetInt64()).ToList();
            Assert.Equal(fileSteps.Order(), history);
            Assert.Equal(fileSteps.Order(), tables.MetricSteps[peer]);
        }

        Assert.Equal("cancelled", tables.State);
        Assert.Contains("cohort: pair", tables.SpecText, StringComparison.Ordinal);
        Assert.Equal(["a", "b"], tables.Peers.Select(p => p.Peer));
        Assert.All(tables.Peers, p => Assert.Equal(generation, p.Generation));
        Assert.Equal(Enumerable.Range(1, tables.Events.Count).Select(i => (long)i), tables.Events.Select(e => e.Id));
        Assert.Single(tables.Events, e => e.Kind == "submitted");
        Assert.Equal(generation == 1 ? 0 : 2, tables.Events.Count(e => e.Kind == "reactivated"));
        Assert.Equal(checkpointFiles, tables.Checkpoints.Select(c => (c.Peer, c.Step)));
        Assert.NotEmpty(checkpointFiles);
    }
}
