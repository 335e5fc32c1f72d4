using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using PeerDistill.Core.Telemetry;
using PeerDistill.Tests.Shared.Otlp;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests.Telemetry;

/// <summary>
/// A real coordinator and two workers (processes) export OTLP to the test's receiver while a two-peer
/// cohort trains, one peer on each worker: each peer's sampled step is a span tree under its epoch,
/// activation and the run's span (made on the coordinator); each learner's exchange wait links to the
/// other worker's publish span of the same step; the REST call that submitted the run holds Orleans'
/// grain-call spans; and the expected metrics arrive with plausible values.
/// </summary>
public sealed class TelemetryTests(ITestOutputHelper output)
{
    private const long TracedStep = 20;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ACohortAcrossTwoWorkers_IsOneTraceWithLinkedWaits_AndItsMetricsArrive()
    {
        await using var receiver = await OtlpReceiver.StartAsync(output.WriteLine);
        var otlp = receiver.ExporterEnvironment(OtlpProtocol.Grpc);
        using var dir = new TempDirectory();
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output, coordinatorEnvironment: otlp);
        cluster.WorkerEnvironment = otlp;
        cluster.StartWorker("w1");
        cluster.StartWorker("w2");
        await cluster.WaitForLineAsync("w1", "joined the cluster", 1, Patience);
        await cluster.WaitForLineAsync("w2", "joined the cluster", 1, Patience);

        var spec = TestSpecs.Pair.Replace("epochs: 200", "epochs: 2", StringComparison.Ordinal) + $"\ntracing: {{every_steps: {TracedStep}, slower_than_ms: 0}}\n";
        using var http = cluster.Http();
        using var created = await http.PostAsync("api/v1/runs", new StringContent(spec, Encoding.UTF8, "application/yaml"));
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        using var run = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var runId = run.RootElement.GetProperty("run").GetString()!;
        var done = await cluster.WaitForAsync(new Protocol.V1.GetCohortRequest { Cohort = "pair", Run = runId }, s => s.State is Protocol.V1.CohortState.Completed or Protocol.V1.CohortState.Failed, TimeSpan.FromMinutes(3));
        Assert.Equal(Protocol.V1.CohortState.Completed, done.State);
        var workerOf = done.Peers.ToDictionary(p => p.Peer, p => p.WorkerId);

        // The run's view carries each peer's step time and exchange wait (what the live page shows), on gRPC and REST.
        Assert.All(done.Peers, p => Assert.True(p.HasStepMs && p.StepMs > 0 && p.HasExchangeWaitMs && p.ExchangeWaitMs >= 0 && p.ExchangeWaitMs <= p.StepMs, $"{p.Peer}: step {p.StepMs} ms, wait {p.ExchangeWaitMs} ms"));
        using (var view = JsonDocument.Parse(await http.GetStringAsync($"api/v1/runs/pair/{runId}")))
        {
            Assert.All(view.RootElement.GetProperty("peers").EnumerateArray(), p => Assert.True(p.GetProperty("step_ms").GetDouble() > 0 && p.GetProperty("exchange_wait_ms").GetDouble() >= 0, p.ToString()));
        }
        Assert.NotEqual(workerOf["a"], workerOf["b"]);

        // The workers export a step's spans when the step ends, the activation's when the peer stops.
        var spans = await receiver.WaitForSpansAsync(
            all => all.Count(s => s.Name == SpanNames.PeerActivation && Attr(s, TelemetryAttributes.Run) == runId) == 2
                && all.Count(s => s.Name == SpanNames.ExchangeWait && s.Links.Count > 0) >= 2,
            Patience,
            "both peers' activations and linked waits");
        var runSpan = Assert.Single(spans, s => s.Name == SpanNames.CohortRun && Attr(s, TelemetryAttributes.Run) == runId);
        Assert.Equal(TelemetryHostingServiceName("coordinator"), runSpan.ServiceName);
        var byId = spans.Where(s => s.TraceId == runSpan.TraceId).ToDictionary(s => s.SpanId);

        var steps = new Dictionary<string, ReceivedSpan>();
        foreach (var peer in new[] { "a", "b" })
        {
            // The step span of the traced step, on its own worker, in the run's trace.
            var step = Assert.Single(byId.Values, s => s.Name == SpanNames.Step && Attr(s, TelemetryAttributes.Peer) == peer && Equals(s.Attributes.GetValueOrDefault(TelemetryAttributes.Step), TracedStep));
            Assert.Equal(workerOf[peer], step.ServiceInstanceId);
            Assert.Equal("every", Attr(step, TelemetryAttributes.SampledBy));
            var children = byId.Values.Where(s => s.ParentSpanId == step.SpanId).ToList();
            Assert.Equal(
                new[] { SpanNames.Forward, SpanNames.Publish, SpanNames.ExchangeWait, SpanNames.Backward, SpanNames.Optimizer }.Order(),
                children.Select(c => c.Name).Order());
            Assert.All(children, c => Assert.True(c.Start >= step.Start && c.End <= step.End, $"{c.Name} [{c.Start:O}, {c.End:O}] outside its step [{step.Start:O}, {step.End:O}]"));

            // step -> epoch -> activation -> the run's span on the coordinator.
            var epoch = byId[step.ParentSpanId!];
            Assert.Equal(SpanNames.Epoch, epoch.Name);
            var activation = byId[epoch.ParentSpanId!];
            Assert.Equal(SpanNames.PeerActivation, activation.Name);
            Assert.Equal(peer, Attr(activation, TelemetryAttributes.Peer));
            Assert.Equal(runSpan.SpanId, activation.ParentSpanId);
            steps[peer] = step;
        }

        foreach (var (learner, teacher) in new[] { ("a", "b"), ("b", "a") })
        {
            // The learner's wait at the step links to the teacher's publish span of that step, made on the other worker.
            var wait = Assert.Single(byId.Values, s => s.Name == SpanNames.ExchangeWait && s.ParentSpanId == steps[learner].SpanId);
            var publish = Assert.Single(byId.Values, s => s.Name == SpanNames.Publish && s.ParentSpanId == steps[teacher].SpanId);
            var link = Assert.Single(wait.Links);
            Assert.Equal((publish.TraceId, publish.SpanId), (link.TraceId, link.SpanId));
            Assert.Equal(teacher, link.Attributes[TelemetryAttributes.Sender]);
            Assert.Equal(workerOf[teacher], publish.ServiceInstanceId);
            Assert.NotEqual(wait.ServiceInstanceId, publish.ServiceInstanceId);
            Assert.Equal(ActivityKind.Consumer, wait.Kind);
            Assert.Equal(ActivityKind.Producer, publish.Kind);
        }

        // The traced step of both peers drawn as a trace viewer draws it (docs/images/step-trace.svg is one such drawing).
        var drawing = TraceWaterfall.Svg($"step {TracedStep} of run {runId}: peer a on {workerOf["a"]}, peer b on {workerOf["b"]}", [steps["a"], steps["b"]], [.. byId.Values]);
        Assert.Contains(SpanNames.ExchangeWait, drawing, StringComparison.Ordinal);
        if (Environment.GetEnvironmentVariable("PEERDISTILL_TRACE_SVG") is { Length: > 0 } svgPath)
        {
            await File.WriteAllTextAsync(svgPath, drawing);
            output.WriteLine($"the traced step's waterfall: {svgPath}");
        }

        // The REST call's trace holds the run's span and Orleans' grain calls, on the coordinator and on the workers.
        var request = Assert.Single(spans, s => s.TraceId == runSpan.TraceId && s.Kind == ActivityKind.Server && s.ParentSpanId is null);
        Assert.Equal("POST", request.Attributes["http.request.method"]);
        var grainCalls = spans.Where(s => s.TraceId == runSpan.TraceId && s.ScopeName.StartsWith("Microsoft.Orleans", StringComparison.Ordinal)).ToList();
        Assert.Contains(grainCalls, s => s.ServiceName == TelemetryHostingServiceName("coordinator"));
        Assert.Contains(grainCalls, s => s.ServiceName == TelemetryHostingServiceName("worker"));

        // Orleans' background work (membership, timers, reports) starts no trace of its own.
        Assert.DoesNotContain(spans, s => s.ParentSpanId is null && s.ScopeName.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));

        // Metrics, with values a cohort that trained can have.
        var worker = TelemetryHostingServiceName("worker");
        var stepTime = await receiver.WaitForMetricAsync(m => m.Name == "peerdistill.step.duration" && m.ServiceName == worker && m.Points.Any(p => Equals(p.Attributes.GetValueOrDefault(TelemetryAttributes.Run), runId) && p.Count >= 100), Patience, "step durations");
        var point = stepTime.Points.First(p => Equals(p.Attributes.GetValueOrDefault(TelemetryAttributes.Run), runId) && p.Count >= 100);
        Assert.Equal("s", stepTime.Unit);
        Assert.InRange(point.Sum!.Value / point.Count!.Value, 1e-5, 10);
        var loss = await receiver.WaitForMetricAsync(m => m.Name == "peerdistill.peer.loss" && m.ServiceName == worker, Patience, "a peer's loss");
        Assert.All(loss.Points, p => Assert.InRange(p.Value!.Value, 1e-4, 20));
        var sent = await receiver.WaitForMetricAsync(m => m.Name == "peerdistill.exchange.sent" && m.ServiceName == worker && m.Points.Sum(p => p.Value ?? 0) > 0, Patience, "bytes sent");
        Assert.Equal("By", sent.Unit);
        var wait2 = await receiver.WaitForMetricAsync(m => m.Name == "peerdistill.exchange.wait" && m.ServiceName == worker, Patience, "exchange waits");
        Assert.All(wait2.Points, p => Assert.True(p.Count > 0 && p.Sum >= 0));
        await receiver.WaitForMetricAsync(m => m.Name == "peerdistill.exchange.ack_latency" && m.Points.Any(p => p.Count > 0), Patience, "publish-to-ack latencies");
        await receiver.WaitForMetricAsync(m => m.Name == "peerdistill.exchange.received" && m.Points.Sum(p => p.Value ?? 0) > 0, Patience, "bytes received");
        await receiver.WaitForMetricAsync(m => m.Name == "peerdistill.peer.samples" && m.Points.Any(p => p.Value >= 100 * 32), Patience, "a peer's samples");
        await receiver.WaitForMetricAsync(m => m.Name == "peerdistill.peers" && m.ServiceName == TelemetryHostingServiceName("coordinator"), Patience, "peers by state");
        await receiver.WaitForMetricAsync(m => m.Name == "http.server.request.duration" && m.ServiceName == TelemetryHostingServiceName("coordinator"), Patience, "ASP.NET Core's request durations");
        var memory = await receiver.WaitForMetricAsync(m => m.Name.StartsWith("dotnet.", StringComparison.Ordinal) && m.ServiceName == worker, Patience, "runtime metrics");
        output.WriteLine($"runtime metric seen: {memory.Name}");
        Assert.Empty(receiver.Rejections);
    }

    private static string? Attr(ReceivedSpan span, string key) => span.Attributes.GetValueOrDefault(key) as string;

    private static string TelemetryHostingServiceName(string role) => PeerDistill.Cluster.Hosting.TelemetryHosting.ServiceName(role);
}
