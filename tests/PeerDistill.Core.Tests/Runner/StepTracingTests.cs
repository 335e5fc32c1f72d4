using System.Collections.Concurrent;
using System.Diagnostics;
using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Core.Telemetry;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>
/// The step loop's spans in the embedded runner, read by an ActivityListener: the run's span over each
/// peer's activation and epochs; a step sampled by its number is a tree of its phases whose wait links
/// to the other peer's publish span of the same step; a step sampled for its time is made after it
/// ended, its phases inside it; with nothing listening, nothing is made.
/// </summary>
public sealed class StepTracingTests
{
    [Fact]
    public void EveryNthStep_IsASpanTree_WhoseWaitLinksToTheTeachersPublish()
    {
        var spans = Trace(new TracingSpec { EverySteps = 4, SlowerThanMs = 0 }, out var run, out var totalSteps);

        var root = Assert.Single(spans, s => s.OperationName == SpanNames.CohortRun);
        Assert.Equal(run, root.GetTagItem(TelemetryAttributes.Run));
        var activations = spans.Where(s => s.OperationName == SpanNames.PeerActivation).ToList();
        Assert.Equal(["a", "b"], activations.Select(a => (string)a.GetTagItem(TelemetryAttributes.Peer)!).Order());
        Assert.All(activations, a => Assert.Equal(root.SpanId, a.ParentSpanId));
        Assert.All(activations, a => Assert.Equal("completed", a.GetTagItem(TelemetryAttributes.State)));

        var steps = spans.Where(s => s.OperationName == SpanNames.Step).ToList();
        var traced = Enumerable.Range(0, (int)totalSteps).Where(i => i % 4 == 0).Select(i => (long)i).ToList();
        foreach (var peer in new[] { "a", "b" })
        {
            Assert.Equal(traced, steps.Where(s => (string?)s.GetTagItem(TelemetryAttributes.Peer) == peer).Select(s => (long)s.GetTagItem(TelemetryAttributes.Step)!).Order());
        }

        foreach (var step in steps)
        {
            Assert.Equal("every", step.GetTagItem(TelemetryAttributes.SampledBy));
            var epoch = Assert.Single(spans, s => s.SpanId == step.ParentSpanId);
            Assert.Equal(SpanNames.Epoch, epoch.OperationName);
            var children = spans.Where(s => s.ParentSpanId == step.SpanId).ToList();
            Assert.Equal(new[] { SpanNames.Forward, SpanNames.Publish, SpanNames.ExchangeWait, SpanNames.Backward, SpanNames.Optimizer }.Order(), children.Select(c => c.OperationName).Order());
            Assert.All(children, c => Assert.True(c.StartTimeUtc >= step.StartTimeUtc && c.StartTimeUtc + c.Duration <= step.StartTimeUtc + step.Duration, $"{c.OperationName} outside its step"));

            // The learner's wait links to the other peer's publish span of the same step.
            var peer = (string)step.GetTagItem(TelemetryAttributes.Peer)!;
            var other = peer == "a" ? "b" : "a";
            var wait = Assert.Single(children, c => c.OperationName == SpanNames.ExchangeWait);
            var link = Assert.Single(wait.Links);
            var teacherStep = Assert.Single(steps, s => (string?)s.GetTagItem(TelemetryAttributes.Peer) == other && Equals(s.GetTagItem(TelemetryAttributes.Step), step.GetTagItem(TelemetryAttributes.Step)));
            var publish = Assert.Single(spans, s => s.OperationName == SpanNames.Publish && s.ParentSpanId == teacherStep.SpanId);
            Assert.Equal(publish.Context.SpanId, link.Context.SpanId);
            Assert.Equal(other, link.Tags!.Single(t => t.Key == TelemetryAttributes.Sender).Value);
        }

        // Epoch-end evaluations and the final checkpoint are spans of their own.
        Assert.Contains(spans, s => s.OperationName == SpanNames.Evaluation);
        Assert.Contains(spans, s => s.OperationName == SpanNames.Checkpoint && s.GetTagItem(TelemetryAttributes.Bytes) is long bytes && bytes > 0);
    }

    [Fact]
    public void AStepSlowerThanTheThreshold_IsTracedAfterItEnded_ItsPhasesInside()
    {
        // Every step is "slow" against a threshold of a nanosecond; none is sampled by number.
        var spans = Trace(new TracingSpec { EverySteps = 0, SlowerThanMs = 0.000001 }, out _, out var totalSteps);
        var steps = spans.Where(s => s.OperationName == SpanNames.Step).ToList();
        Assert.Equal(2 * totalSteps, steps.Count);
        Assert.All(steps, step =>
        {
            Assert.Equal("slow", step.GetTagItem(TelemetryAttributes.SampledBy));
            var children = spans.Where(s => s.ParentSpanId == step.SpanId).ToList();
            Assert.Contains(children, c => c.OperationName == SpanNames.Forward);
            Assert.Contains(children, c => c.OperationName == SpanNames.ExchangeWait);
            Assert.All(children, c => Assert.True(c.StartTimeUtc >= step.StartTimeUtc && c.StartTimeUtc + c.Duration <= step.StartTimeUtc + step.Duration, $"{c.OperationName} outside its step"));
        });
    }

    [Fact]
    public void WithNothingListening_NoSpanIsMade_AndNoMeasurementTaken()
    {
        // This class's listeners come and go with its tests, which run one after another; none other exists in this process.
        Assert.False(RunnerTelemetry.Source.HasListeners());
        Assert.Null(RunnerTelemetry.Source.StartActivity(SpanNames.Step));
        Assert.False(RunnerTelemetry.StepDuration.Enabled);
        Assert.False(RunnerTelemetry.Loss.Enabled);
    }

    /// <summary>Runs the two-peer synthetic cohort for one epoch with <paramref name="tracing"/>, listening to the runner's source; the spans of its trace.</summary>
    private static List<Activity> Trace(TracingSpec tracing, out string run, out long totalSteps)
    {
        using var dir = new TempDir();
        var spec = TestSpecs.Synthetic(dir.Path, epochs: 1) with { Tracing = tracing };
        var data = CohortData.Load(spec);
        var id = "traced-" + Guid.NewGuid().ToString("N")[..8];
        run = id;
        totalSteps = data.TotalSteps;
        var all = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == TelemetryNames.Runner,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = all.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var result = CohortRunner.Run(spec, data, StrategyRegistry.Create(spec), id, Path.Combine(dir.Path, "ckpt"), resume: false, new RecordingObserver(), new StopControl());
        Assert.All(result.Peers, p => Assert.Equal(PeerStatus.Completed, p.Status));

        // Other tests of this process may run cohorts meanwhile: this run's trace only.
        var root = all.Single(a => a.OperationName == SpanNames.CohortRun && (string?)a.GetTagItem(TelemetryAttributes.Run) == id);
        return all.Where(a => a.TraceId == root.TraceId).ToList();
    }
}
