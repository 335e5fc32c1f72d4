using System.Text.Json;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests.Rest;

/// <summary>The workers of a cluster over REST and from the CLI, before and while a cohort trains on them.</summary>
public sealed class WorkersTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Workers_ListTheirSlots_ThenThePeersInThem_OverRestAndTheCli()
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
    }
}
