using System.Text.Json;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests.Rest;

/// <summary>The workers of a cluster over REST and from the CLI, before and while a cohort trains on them.</summary>
public sealed class WorkersTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Workers_ListTheirSlots_ThenThePeersInThem_AndTheRunsCheckpoints_OverRestAndTheCli()
    {
        using var dir = new TempDirectory();
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        cluster.StartWorker("w1", slots: 2);
        await cluster.WaitForLineAsync("w1", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(cluster.HttpUrl + "/") };

        var idle = JsonDocument.Parse(await http.GetStringAsync("api/v1/workers")).RootElement.GetProperty("workers");
        var worker = Assert.Single(idle.EnumerateArray());
        Assert.Equal("w1", worker.GetProperty("worker").GetString());
        Assert.True(worker.GetProperty("takes_peers").GetBoolean());
        Assert.Equal(["cpu", "cpu"], worker.GetProperty("slots").EnumerateArray().Select(s => s.GetProperty("device").GetString()));
        Assert.All(worker.GetProperty("slots").EnumerateArray(), s => Assert.Equal(JsonValueKind.Null, s.GetProperty("peer").ValueKind));

        var spec = Path.Combine(dir.Path, "pair.yaml");
        await File.WriteAllTextAsync(spec, TestSpecs.Pair);
        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url);
        Assert.True(submit.ExitCode == 0, submit.Stderr);
        var status = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.Peers.All(p => p.State == PeerState.Active), TimeSpan.FromMinutes(2));

        var busy = JsonDocument.Parse(await http.GetStringAsync("api/v1/workers")).RootElement.GetProperty("workers")[0].GetProperty("slots");
        Assert.Equal([$"pair/{status.Run}/a", $"pair/{status.Run}/b"], busy.EnumerateArray().Select(s => s.GetProperty("peer").GetString()).Order(StringComparer.Ordinal));
        var table = CliProcess.RunIn(dir.Path, "workers", "--coordinator", cluster.Url);
        Assert.True(table.ExitCode == 0, table.Stderr);
        Assert.StartsWith("WORKER", table.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, table.Stdout.Split('\n').Count(l => l.StartsWith("w1 ", StringComparison.Ordinal) && l.Contains($"pair/{status.Run}/", StringComparison.Ordinal)));
        var json = CliProcess.RunIn(dir.Path, "workers", "--coordinator", cluster.Url, "--json");
        Assert.Equal("w1", JsonDocument.Parse(json.Stdout).RootElement.GetProperty("workers")[0].GetProperty("worker").GetString());
        var cancel = CliProcess.RunIn(dir.Path, "cohorts", "cancel", "pair", "--coordinator", cluster.Url);
        Assert.True(cancel.ExitCode == 0, cancel.Stderr);

        // Cancelled peers stop with a checkpoint: listed over REST and the CLI, and downloadable.
        var stopped = await cluster.WaitForAsync(new GetCohortRequest { Cohort = "pair" }, s => s.Peers.All(p => p.State != PeerState.Active), TimeSpan.FromMinutes(1));
        JsonElement[] checkpoints = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(30); checkpoints.Length < 2 && DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            checkpoints = [.. JsonDocument.Parse(await http.GetStringAsync($"api/v1/runs/pair/{status.Run}/checkpoints")).RootElement.GetProperty("checkpoints").EnumerateArray()];
        }

        Assert.Equal(["a", "b"], checkpoints.Select(c => c.GetProperty("peer").GetString()).Order(StringComparer.Ordinal));
        var first = checkpoints[0];
        var bytes = await http.GetByteArrayAsync(first.GetProperty("download").GetString()!.TrimStart('/'));
        Assert.Equal(first.GetProperty("bytes").GetInt64(), bytes.LongLength);
        using var missing = await http.GetAsync($"api/v1/runs/pair/{status.Run}/checkpoints/a/999999");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        var listed = CliProcess.RunIn(dir.Path, "checkpoints", "pair", "--coordinator", cluster.Url);
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.Equal(2, listed.Stdout.Split('\n').Count(l => l.StartsWith("a ", StringComparison.Ordinal) || l.StartsWith("b ", StringComparison.Ordinal)));
        output.WriteLine($"run {stopped.Run}: {checkpoints.Length} checkpoints, {bytes.Length} bytes downloaded");

        // The metrics history over gRPC, from the CLI: the steps the files hold (once copied, within a
        // second or two), thinned to at most the points asked for, from the first.
        var all = 0;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); all < 10 && DateTime.UtcNow < deadline; await Task.Delay(500))
        {
            var full = CliProcess.RunIn(dir.Path, "metrics", "pair", "--coordinator", cluster.Url, "--peer", "a", "--max-points", "100000", "--json");
            all = full.ExitCode == 0 ? JsonDocument.Parse(full.Stdout).RootElement.GetProperty("points").GetArrayLength() : 0;
        }

        var metrics = CliProcess.RunIn(dir.Path, "metrics", "pair", "--coordinator", cluster.Url, "--peer", "a", "--max-points", "5", "--json");
        Assert.True(metrics.ExitCode == 0, metrics.Stderr);
        var history = JsonDocument.Parse(metrics.Stdout).RootElement.GetProperty("points").EnumerateArray().ToList();
        Assert.True(all >= 10, $"the history of 'a' holds {all} steps");
        Assert.InRange(history.Count, 2, 5);
        Assert.All(history, p => Assert.Equal("a", p.GetProperty("peer").GetString()));
        Assert.Equal("0", history[0].GetProperty("step").GetString()); // int64 as a JSON string (protobuf's JSON mapping)
        var rows = CliProcess.RunIn(dir.Path, "metrics", "pair", "--coordinator", cluster.Url, "--max-points", "3");
        Assert.True(rows.ExitCode == 0, rows.Stderr);
        Assert.StartsWith("PEER", rows.Stdout, StringComparison.Ordinal);
    }
}
