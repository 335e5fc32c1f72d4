using System.Text.Json;
using Grpc.Core;
using PeerDistill.Protocol.V1;
using Xunit;

namespace PeerDistill.Coordinator.Tests;

/// <summary>Submit, completion, failure, cancellation, and the CohortService reads.</summary>
public sealed class CohortLifecycleTests : IDisposable
{
    private readonly Harness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Submit_InvalidSpec_InvalidArgumentNamingTheField()
    {
        var bad = TestSpecs.Smoke.Replace("model: cnn", "model: resnet99", StringComparison.Ordinal).Replace("epochs: 3", "epochs: -1", StringComparison.Ordinal);

        var e = Assert.Throws<RpcException>(() => _h.Submit(bad));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        var lines = e.Status.Detail.Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.Contains("peers[1].model: unknown model 'resnet99'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("data.epochs", StringComparison.Ordinal));
        Assert.Empty(_h.State.ListCohorts(new ListCohortsRequest()).Cohorts);
    }

    [Theory]
    [InlineData("", "yaml", "spec_text is empty")]
    [InlineData("cohort: x", "xml", "spec_format 'xml' is not supported")]
    public void Submit_BadRequest_InvalidArgument(string text, string format, string expected)
    {
        var e = Assert.Throws<RpcException>(() => _h.State.Submit(new SubmitCohortRequest { SpecText = text, SpecFormat = format }));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(expected, e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Submit_CohortWithUnfinishedRun_AlreadyExists()
    {
        var first = _h.Submit(TestSpecs.Smoke);

        var e = Assert.Throws<RpcException>(() => _h.Submit(TestSpecs.Smoke));

        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);
        Assert.Contains($"cohort 'smoke' already has run '{first.Run}'", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Submit_RunIds_AreCohortAndUtcTime_UniqueWithSuffix()
    {
        var first = _h.Submit(TestSpecs.Smoke);
        _h.State.CancelCohort(new CancelCohortRequest { Cohort = "smoke" });
        var second = _h.Submit(TestSpecs.Smoke);

        Assert.Equal("smoke-20250102-030405", first.Run);
        Assert.Equal("smoke-20250102-030405-2", second.Run);
        Assert.Equal(second.Run, _h.Status("smoke").Run);
        Assert.Equal(first.Run, _h.Status("smoke", first.Run).Run);
    }

    [Fact]
    public void AllPeersComplete_RunCompleted_SummaryWithInterruptions()
    {
        _h.Register("w1");
        _h.Register("w2");
        _h.Register("w3");
        var run = _h.Submit().Run;
        _h.Accept("w1");
        _h.Accept("w2");
        _h.Accept("w3");
        _h.Register("w4"); // a spare that takes over when w1 is lost
        _h.Advance(3);
        _h.Heartbeat("w2");
        _h.Heartbeat("w3");
        _h.Heartbeat("w4");
        _h.Advance(3);
        _h.State.Tick();

        var mlp = _h.Accept("w4").Single();
        Assert.Equal(2UL, mlp.Generation);
        var done = new Dictionary<string, Assignment> { ["w4"] = mlp };
        foreach (var worker in new[] { "w2", "w3" })
        {
            done[worker] = _h.Heartbeat(worker).Peers.Where(p => p.WorkerId == worker)
                .Select(p => new Assignment { Cohort = p.Cohort, Run = p.Run, Peer = p.Peer, Generation = p.Generation }).Single();
        }

        _h.Advance(1);
        foreach (var (worker, a) in done)
        {
            Assert.Equal(CohortState.Running, _h.Status("trio").State);
            _h.Heartbeat(worker, Harness.Progress(a, PeerState.Completed, step: 141, accuracy: 0.8));
        }

        var status = _h.Status("trio");
        Assert.Equal(CohortState.Completed, status.State);
        Assert.Equal((Harness.Start + TimeSpan.FromSeconds(7)).ToUnixTimeMilliseconds(), status.FinishedUnixMillis);
        Assert.All(status.Peers, p => Assert.Equal(PeerState.Completed, p.State));

        var path = Path.Combine(_h.Root, "trio", run, "summary.json");
        using var summary = JsonDocument.Parse(File.ReadAllText(path));
        var root = summary.RootElement;
        Assert.Equal(("trio", run, "completed"), (root.GetProperty("cohort").GetString(), root.GetProperty("run").GetString(), root.GetProperty("state").GetString()));
        Assert.Equal(7.0, root.GetProperty("wall_seconds").GetDouble());
        Assert.False(root.TryGetProperty("ensemble_accuracy", out _));
        var peers = root.GetProperty("peers").EnumerateArray().ToList();
        Assert.Equal(["mlp", "cnn", "wide"], peers.Select(p => p.GetProperty("peer").GetString()));
        var first = peers[0];
        Assert.Equal(("mlp", "completed", 141L, 0.8, "w4", 2UL), (
            first.GetProperty("model").GetString(),
            first.GetProperty("state").GetString(),
            first.GetProperty("steps").GetInt64(),
            first.GetProperty("accuracy").GetDouble(),
            first.GetProperty("worker").GetString(),
            first.GetProperty("generation").GetUInt64()));
        Assert.True(first.TryGetProperty("message", out _));
        var kinds = root.GetProperty("interruptions").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Equal(["worker-lost", "reactivated"], kinds);
    }

    [Fact]
    public void PeerFails_OthersFinish_RunFailed()
    {
        _h.Register("w1");
        _h.Register("w2");
        _h.Submit(TestSpecs.Smoke);
        var mlp = _h.Accept("w1").Single();
        var cnn = _h.Accept("w2").Single();

        _h.Heartbeat("w1", Harness.Progress(mlp, PeerState.Failed, step: 5, message: "loss is NaN"));
        Assert.Equal(CohortState.Running, _h.Status("smoke").State);
        _h.Heartbeat("w2", Harness.Progress(cnn, PeerState.Completed, step: 141));

        var status = _h.Status("smoke");
        Assert.Equal(CohortState.Failed, status.State);
        Assert.Equal("loss is NaN", status.Peers[0].Message);
        Assert.True(File.Exists(Path.Combine(_h.Root, "smoke", status.Run, "summary.json")));
    }

    [Fact]
    public void Cancel_PlacedPeersStopped_RunCancelled()
    {
        _h.Register("w1");
        _h.Register("w2");
        var run = _h.Submit(TestSpecs.Smoke).Run;
        var mlp = _h.Accept("w1").Single();
        _h.Accept("w2");

        var reply = _h.State.CancelCohort(new CancelCohortRequest { Cohort = "smoke", Reason = "enough" });

        Assert.Equal(CohortState.Cancelled, reply.State);
        var stop = Assert.Single(_h.Heartbeat("w1").Stop);
        Assert.Equal(("smoke", run, "mlp", 1UL), (stop.Cohort, stop.Run, stop.Peer, stop.Generation));
        Assert.Equal("cnn", Assert.Single(_h.Heartbeat("w2").Stop).Peer);
        Assert.Empty(_h.Heartbeat("w2").Stop);

        // Still training after the stop: told again.
        Assert.Single(_h.Heartbeat("w1", Harness.Progress(mlp, PeerState.Active, step: 9)).Stop);
        Assert.Empty(_h.Heartbeat("w1", Harness.Progress(mlp, PeerState.Interrupted, step: 9)).Stop);

        var status = _h.Status("smoke");
        Assert.Equal(CohortState.Cancelled, status.State);
        Assert.All(status.Peers, p => Assert.Equal(PeerState.Interrupted, p.State));
        Assert.Contains(status.Events, e => e.Kind == "cancelled" && e.Message == "enough");
        Assert.Equal(CohortState.Cancelled, _h.State.CancelCohort(new CancelCohortRequest { Cohort = "smoke" }).State);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(_h.Root, "smoke", run, "summary.json")));
        Assert.Equal("cancelled", summary.RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public void GetCohort_Unknown_NotFound()
    {
        _h.Submit(TestSpecs.Smoke);

        var none = Assert.Throws<RpcException>(() => _h.Status("nope"));
        var noRun = Assert.Throws<RpcException>(() => _h.Status("smoke", "smoke-1"));

        Assert.Equal(StatusCode.NotFound, none.StatusCode);
        Assert.Contains("no cohort named 'nope' (known: smoke)", none.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, noRun.StatusCode);
        Assert.Contains("cohort 'smoke' has no run 'smoke-1'", noRun.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ListCohorts_NewestFirst_FilteredByState()
    {
        _h.Submit(TestSpecs.Smoke);
        _h.Advance(1);
        _h.Submit();
        _h.State.CancelCohort(new CancelCohortRequest { Cohort = "smoke" });

        var all = _h.State.ListCohorts(new ListCohortsRequest());
        var cancelled = _h.State.ListCohorts(new ListCohortsRequest { State = CohortState.Cancelled });

        Assert.Equal(["trio", "smoke"], all.Cohorts.Select(c => c.Cohort));
        Assert.Equal(["smoke"], cancelled.Cohorts.Select(c => c.Cohort));
    }

    [Fact]
    public async Task WatchCohort_SendsNowAndOnEveryChange_EndsWhenTheRunEnds()
    {
        _h.Register("w1");
        _h.Register("w2");
        _h.Submit(TestSpecs.Smoke);
        var seen = new List<CohortStatus>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var first = new TaskCompletionSource();
        var watch = _h.State.WatchCohortAsync(
            new GetCohortRequest { Cohort = "smoke" },
            s =>
            {
                lock (seen)
                {
                    seen.Add(s);
                }

                first.TrySetResult();
                return Task.CompletedTask;
            },
            timeout.Token);
        await first.Task.WaitAsync(timeout.Token);

        var mlp = _h.Accept("w1").Single();
        var cnn = _h.Accept("w2").Single();
        _h.Heartbeat("w1", Harness.Progress(mlp, PeerState.Completed, step: 141));
        _h.Heartbeat("w2", Harness.Progress(cnn, PeerState.Completed, step: 141));
        await watch.WaitAsync(timeout.Token);

        Assert.Equal(CohortState.Running, seen[0].State);
        Assert.Equal(CohortState.Completed, seen[^1].State);
        Assert.True(seen.Count >= 2);
    }

    [Fact]
    public async Task WatchCohort_ClientLeaves_Returns()
    {
        _h.Submit(TestSpecs.Smoke);
        using var leave = new CancellationTokenSource();
        var sent = 0;
        var watch = _h.State.WatchCohortAsync(new GetCohortRequest { Cohort = "smoke" }, _ => { Interlocked.Increment(ref sent); return Task.CompletedTask; }, leave.Token);

        await leave.CancelAsync();
        await watch.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, sent);
    }
}
