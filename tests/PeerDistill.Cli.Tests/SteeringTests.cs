using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using PeerDistill.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// Steering a distributed cohort on real processes (a coordinator and two workers on loopback):
/// pause at one step, resume on the slots free then, a live alpha change at an announced step; the
/// per-step losses are those of embedded runs of the same spec, uninterrupted, without and with the
/// change in the spec's <c>changes</c> at the announced step.
/// </summary>
public sealed class SteeringTests(ITestOutputHelper output)
{
    private const string Duo = """
        cohort: duo
        peers:
          - {name: a, model: mlp, model_options: {widths: [128]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 1}
          - {name: b, model: mlp, model_options: {widths: [96]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 2}
        distillation: {strategy: dml, temperature: 2, alpha: 1}
        data:
          dataset: synthetic
          batch_size: 64
          epochs: 30
          synthetic: {train_count: 3000, test_count: 500, noise: 0.6}
        checkpoints: {every_steps: 100, keep_last: 2}

        """;

    [Fact]
    public async Task PausedResumedAndChangedLive_GivesTheLossesOfEmbeddedRunsWithTheChangeInTheSpec()
    {
        using var dir = new TempDirectory();
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        foreach (var worker in new[] { "w1", "w2" })
        {
            cluster.StartWorker(worker);
            await cluster.WaitForLineAsync(worker, "joined the cluster", 1, TimeSpan.FromSeconds(60));
        }

        using var channel = cluster.Coordinator();
        var client = new CohortService.CohortServiceClient(channel);
        var submitted = await client.SubmitAsync(new SubmitCohortRequest { SpecText = Duo });
        var run = new GetCohortRequest { Cohort = submitted.Cohort, Run = submitted.Run };
        await cluster.WaitForAsync(run, s => s.Peers.All(p => p.Step >= 60), TimeSpan.FromMinutes(3));

        // Pause over REST, with If-Match: a training run's version grows with every progress report,
        // so, as a client must, read it again and ask again on 412 (a stale version is refused).
        using var http = cluster.Http("api/v1/runs/duo/" + run.Run + "/");
        using var current = await http.GetAsync(string.Empty);
        using var pauseReply = await SendIfMatchAsync(http, () => new HttpRequestMessage(HttpMethod.Post, "pause"));
        Assert.True(pauseReply.StatusCode == HttpStatusCode.OK, await pauseReply.Content.ReadAsStringAsync());
        var pauseStep = JsonDocument.Parse(await pauseReply.Content.ReadAsStringAsync()).RootElement.GetProperty("step").GetInt64();
        var stopped = await cluster.WaitForAsync(run, s => s.Peers.All(p => p.State == PeerState.Paused), TimeSpan.FromMinutes(1));
        Assert.Equal((CohortState.Paused, pauseStep), (stopped.State, stopped.PausedAtStep));
        Assert.All(stopped.Peers, p => Assert.Equal(pauseStep, p.Step));
        Assert.Contains(stopped.Events, e => e.Kind == "paused" && e.Peer.Length == 0 && e.Message.Contains($"step {pauseStep}", StringComparison.Ordinal));
        var pauseAgain = await Assert.ThrowsAsync<RpcException>(() => client.PauseCohortAsync(new PauseCohortRequest { Cohort = run.Cohort, Run = run.Run }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, pauseAgain.StatusCode);
        using var pauseAgainRest = await http.PostAsync("pause", null);
        Assert.Equal(HttpStatusCode.Conflict, pauseAgainRest.StatusCode);
        Assert.Equal("application/problem+json", pauseAgainRest.Content.Headers.ContentType?.MediaType);

        // Resume: placed again, from the checkpoints of the pause step.
        var resumed = await client.ResumeCohortAsync(new ResumeCohortRequest { Cohort = run.Cohort, Run = run.Run });
        Assert.Equal(pauseStep, resumed.Step);
        var resumeAgain = await Assert.ThrowsAsync<RpcException>(() => client.ResumeCohortAsync(new ResumeCohortRequest { Cohort = run.Cohort, Run = run.Run }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, resumeAgain.StatusCode);
        await cluster.WaitForAsync(run, s => s.State == CohortState.Running && s.Peers.All(p => p.Step >= pauseStep + 60), TimeSpan.FromMinutes(3));

        // A live alpha change over REST: refused on a stale ETag; then every peer applies it at the step the reply names.
        using var staleChange = new HttpRequestMessage(HttpMethod.Post, "changes") { Content = new StringContent("{\"distillation\": {\"alpha\": 0.25}}", Encoding.UTF8, "application/json") };
        staleChange.Headers.IfMatch.Add(current.Headers.ETag!);
        using var staleReply = await http.SendAsync(staleChange);
        Assert.Equal(HttpStatusCode.PreconditionFailed, staleReply.StatusCode);
        using var changeReply = await SendIfMatchAsync(http, () => new HttpRequestMessage(HttpMethod.Post, "changes") { Content = new StringContent("{\"distillation\": {\"alpha\": 0.25}}", Encoding.UTF8, "application/json") });
        Assert.True(changeReply.StatusCode == HttpStatusCode.OK, await changeReply.Content.ReadAsStringAsync());
        using var changed = JsonDocument.Parse(await changeReply.Content.ReadAsStringAsync());
        var changeStep = changed.RootElement.GetProperty("step").GetInt64();
        Assert.True(changeStep > pauseStep + 60, $"change at {changeStep}");
        Assert.Contains(changed.RootElement.GetProperty("run").GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "changed" && e.GetProperty("message").GetString() == $"distillation.alpha=0.25 from step {changeStep}");
        var done = await cluster.WaitForAsync(run, s => s.State is CohortState.Completed or CohortState.Failed or CohortState.Cancelled, TimeSpan.FromMinutes(5));
        Assert.Equal(CohortState.Completed, done.State);
        var finished = await Assert.ThrowsAsync<RpcException>(() => client.UpdateCohortAsync(new UpdateCohortRequest { Cohort = run.Cohort, Run = run.Run, Change = "{lr_scale: 2}" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, finished.StatusCode);

        // The database's tables hold the change with its step, and the run as it ended.
        var tables = await ServiceTables.WaitAsync(() => ServiceTables.ReadSqliteAsync(Path.Combine(dir.Path, "data"), "duo", run.Run), t => t.State == "completed", TimeSpan.FromSeconds(30));
        Assert.Equal([(changeStep, "{\"distillation.alpha\":\"0.25\"}")], tables.Changes);
        Assert.Equal("completed", tables.State);
        Assert.Contains(tables.Events, e => e.Kind == "paused");

        var distributed = MetricsFiles.Distributed(Directory.GetDirectories(Path.Combine(cluster.Runs, "duo")).Single());
        var plain = Embedded(dir.Path, "plain", Duo);
        var withChange = Embedded(dir.Path, "changed", Duo + string.Create(CultureInfo.InvariantCulture, $"changes:\n  - {{step: {changeStep}, distillation: {{alpha: 0.25}}}}\n"));
        Assert.Equal(withChange.Keys.Order(), distributed.Keys.Order());
        foreach (var (key, loss) in distributed)
        {
            Assert.True(withChange[key] == loss, $"{key}: distributed {loss:R}, embedded with the change in its spec {withChange[key]:R}");
            if (key.Step < changeStep)
            {
                Assert.True(plain[key] == loss, $"{key}: distributed {loss:R}, embedded uninterrupted {plain[key]:R}");
            }
            else
            {
                Assert.True(plain[key] != loss, $"{key}: the change did not take at step {changeStep}");
            }
        }
    }

    /// <summary>
    /// Reads the run and sends <paramref name="request"/> with its ETag in If-Match, again while the
    /// answer is 412 (its peers reported progress in between; each reports every 500 ms): what a client
    /// acting on a training run with If-Match does. At most 50 tries.
    /// </summary>
    private static async Task<HttpResponseMessage> SendIfMatchAsync(HttpClient http, Func<HttpRequestMessage> request)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var read = await http.GetAsync(string.Empty);
            using var send = request();
            send.Headers.IfMatch.Add(read.Headers.ETag!);
            var reply = await http.SendAsync(send);
            if (reply.StatusCode != HttpStatusCode.PreconditionFailed || attempt == 50)
            {
                return reply;
            }

            reply.Dispose();
        }
    }

    private static Dictionary<(string Peer, long Step), double> Embedded(string root, string name, string spec)
    {
        var path = Path.Combine(root, name + ".yaml");
        File.WriteAllText(path, spec);
        var result = CliProcess.RunIn(root, "run", path, "--output", Path.Combine(root, name));
        Assert.True(result.ExitCode == 0, result.Stderr);
        return MetricsFiles.Embedded(Path.Combine(root, name));
    }
}
