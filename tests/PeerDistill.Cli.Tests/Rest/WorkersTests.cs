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
        using var http = cluster.Http();

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

        // Downloads: 'latest' is the newest step; the TorchScript export (REST and, through gRPC, the
        // CLI) is the checkpoint's model, answering as the checkpoint does; refusals name the problem.
        var peerA = checkpoints.Single(c => c.GetProperty("peer").GetString() == "a");
        var stepA = peerA.GetProperty("step").GetInt64();
        var checkpointA = await http.GetByteArrayAsync(peerA.GetProperty("download").GetString()!.TrimStart('/'));
        Assert.Equal(checkpointA, await http.GetByteArrayAsync($"api/v1/runs/pair/{status.Run}/checkpoints/a/latest"));
        using var script = await http.GetAsync($"api/v1/runs/pair/latest/checkpoints/a/{stepA}?format=torchscript");
        Assert.Equal(System.Net.HttpStatusCode.OK, script.StatusCode);
        Assert.Equal($"pair-a-step-{stepA}.pt", script.Content.Headers.ContentDisposition?.FileName);
        var restExport = Path.Combine(dir.Path, "a-rest.pt");
        await File.WriteAllBytesAsync(restExport, await script.Content.ReadAsByteArrayAsync());
        var cliExport = CliProcess.RunIn(dir.Path, "checkpoints", "pair", "--coordinator", cluster.Url, "--peer", "a", "--torchscript", "-o", dir.Path);
        Assert.True(cliExport.ExitCode == 0, cliExport.Stderr);
        var cliCheckpoint = CliProcess.RunIn(dir.Path, "checkpoints", "pair", "--coordinator", cluster.Url, "--peer", "a", "--step", stepA.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "a.ckpt");
        Assert.True(cliCheckpoint.ExitCode == 0, cliCheckpoint.Stderr);
        Assert.Equal(checkpointA, await File.ReadAllBytesAsync(Path.Combine(dir.Path, "a.ckpt")));
        var (fromCheckpoint, fromRest, fromCli) = (Logits(Torch.Checkpoint.LoadModel(Path.Combine(dir.Path, "a.ckpt")).Model), Logits(Torch.Model.LoadTorchScript(restExport)), Logits(Torch.Model.LoadTorchScript(Path.Combine(dir.Path, $"pair-a-step-{stepA}.pt"))));
        Assert.Equal(fromCheckpoint, fromRest);
        Assert.Equal(fromCheckpoint, fromCli);
        Assert.Equal(20, fromCheckpoint.Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "data", "exports")));

        using var badFormat = await http.GetAsync($"api/v1/runs/pair/{status.Run}/checkpoints/a/{stepA}?format=onnx");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, badFormat.StatusCode);
        Assert.Contains("format", await badFormat.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var noPeer = await http.GetAsync($"api/v1/runs/pair/{status.Run}/checkpoints/zed/latest");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, noPeer.StatusCode);
        var cliMissing = CliProcess.RunIn(dir.Path, "checkpoints", "pair", "--coordinator", cluster.Url, "--peer", "a", "--step", "999999", "-o", "gone.ckpt");
        Assert.Equal((2, false), (cliMissing.ExitCode, File.Exists(Path.Combine(dir.Path, "gone.ckpt"))));
        Assert.Contains("no checkpoint of step 999999", cliMissing.Stderr, StringComparison.Ordinal);
        var cliNoPeer = CliProcess.RunIn(dir.Path, "checkpoints", "pair", "--coordinator", cluster.Url, "-o", "x.ckpt");
        Assert.NotEqual(0, cliNoPeer.ExitCode);
        Assert.Contains("--peer", cliNoPeer.Stderr, StringComparison.Ordinal);

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

    /// <summary>The model's logits for two fixed inputs (1x28x28), in evaluation mode; disposes the model.</summary>
    private static float[] Logits(Torch.Model model)
    {
        using (model)
        {
            model.Eval();
            using var input = Torch.Tensor.Randn(7, 2, 1, 28, 28);
            using var logits = model.Predict(input);
            return logits.ToFloatArray();
        }
    }
}
