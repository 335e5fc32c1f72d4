using System.Diagnostics;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Runner;

namespace PeerDistill.Core.Telemetry;

/// <summary>
/// The spans and measurements of one peer's step loop. Spans: the activation (a child of the run's
/// context), one per epoch, and the sampled steps with their phases (forward, publish, exchange wait
/// linked to each teacher's publish span, backward, optimizer), checkpoints and evaluations. A step
/// sampled by its number is traced while it runs (its publish span is current while the logits are
/// handed over, so that frames carry its context); a step sampled for its time is traced after it
/// ended, from the times the loop marked. With nothing listening no span is made, and no measurement
/// is taken by an instrument nobody collects.
/// </summary>
internal sealed class StepTracer : IDisposable
{
    private readonly PeerLoopOptions _options;
    private readonly string _peer;
    private readonly string _model;
    private readonly string _device;
    private readonly TagList _tags;
    private readonly StepTimes _times = new();
    private Activity? _activation;
    private Activity? _epoch;
    private int _epochNumber = -1;
    private Activity? _step;

    public StepTracer(PeerLoopOptions options, string peer, string model, string device)
    {
        _options = options;
        _peer = peer;
        _model = model;
        _device = device;
        _tags = RunnerTelemetry.PeerTags(options.Cohort, options.Run, peer);
    }

    public StepTimes Times => _times;

    private TraceSampling Sampling => _options.Tracing;

    /// <summary>The activation starts at <paramref name="startStep"/>.</summary>
    public void Start(long startStep)
    {
        RunnerTelemetry.PeerStarted(_options.Cohort, _options.Run, _peer, _device);
        if (!RunnerTelemetry.Source.HasListeners())
        {
            return;
        }

        _activation = Detached(() => RunnerTelemetry.Source.StartActivity(SpanNames.PeerActivation, ActivityKind.Internal, _options.TraceParent));
        if (_activation is { IsAllDataRequested: true } a)
        {
            a.SetTag(TelemetryAttributes.Cohort, _options.Cohort);
            a.SetTag(TelemetryAttributes.Run, _options.Run);
            a.SetTag(TelemetryAttributes.Peer, _peer);
            a.SetTag(TelemetryAttributes.Model, _model);
            a.SetTag(TelemetryAttributes.Device, _device);
            a.SetTag(TelemetryAttributes.StartStep, startStep);
            if (_options.Generation > 0)
            {
                a.SetTag(TelemetryAttributes.Generation, (long)_options.Generation);
            }
        }
    }

    /// <summary>Step <paramref name="step"/> of <paramref name="epoch"/> begins: its times are marked from now; traced live when sampled by number.</summary>
    public void BeginStep(long step, int epoch)
    {
        _times.Begin();
        if (_activation is null)
        {
            return;
        }

        if (epoch != _epochNumber)
        {
            EndEpoch();
            _epochNumber = epoch;
            _epoch = Detached(() => RunnerTelemetry.Source.StartActivity(SpanNames.Epoch, ActivityKind.Internal, _activation.Context));
            _epoch?.SetTag(TelemetryAttributes.Epoch, epoch);
        }

        if (Sampling.Every(step))
        {
            _step = RunnerTelemetry.Source.StartActivity(SpanNames.Step, ActivityKind.Internal, ParentOfSteps, startTime: _times.StartUtc);
            if (_step is { IsAllDataRequested: true } s)
            {
                s.SetTag(TelemetryAttributes.Step, step);
                s.SetTag(TelemetryAttributes.Epoch, epoch);
                s.SetTag(TelemetryAttributes.Peer, _peer);
                s.SetTag(TelemetryAttributes.SampledBy, "every");
            }

            // Current while the step runs: its publish span is made under it.
            Activity.Current = _step;
        }
    }

    /// <summary>
    /// The publish span of a step traced live, current until it is disposed (the exchange reads the
    /// current activity to put its context into the frames); null otherwise.
    /// </summary>
    public Activity? StartPublish()
    {
        if (_step is null)
        {
            return null;
        }

        var publish = RunnerTelemetry.Source.StartActivity(SpanNames.Publish, ActivityKind.Producer, _step.Context);
        if (publish is not null)
        {
            Activity.Current = publish;
        }

        return publish;
    }

    /// <summary>Ends the publish span of <see cref="StartPublish"/> (if any); the step's span is current again.</summary>
    public void EndPublish(Activity? publish)
    {
        if (publish is not null)
        {
            publish.Stop();
            Activity.Current = _step;
        }
    }

    /// <summary>
    /// The step ended (after the optimizer, or after its last phase): its measurements, and its spans
    /// when it is sampled by number (made live) or for its time (made now).
    /// </summary>
    /// <param name="teachers">The teachers it waited for.</param>
    /// <param name="arrived">The teachers' logits it got, with their publish spans' contexts.</param>
    public void EndStep(long step, int epoch, int batchSize, int teachers, IReadOnlyList<TeacherLogits> arrived)
    {
        var t = _times;
        if (RunnerTelemetry.StepDuration.Enabled)
        {
            RunnerTelemetry.StepDuration.Record(t.Elapsed.TotalSeconds, _tags);
        }

        if (teachers > 0 && RunnerTelemetry.ExchangeWait.Enabled)
        {
            RunnerTelemetry.ExchangeWait.Record(t.Wait.TotalSeconds, _tags);
        }

        if (batchSize > 0 && RunnerTelemetry.Samples.Enabled)
        {
            RunnerTelemetry.Samples.Add(batchSize, _tags);
        }

        if (_activation is null)
        {
            return;
        }

        var live = _step;
        _step = null;
        if (live is null && !Sampling.Slow(t.Elapsed))
        {
            return;
        }

        var saved = Activity.Current;
        try
        {
            var stepSpan = live ?? RunnerTelemetry.Source.StartActivity(SpanNames.Step, ActivityKind.Internal, ParentOfSteps, startTime: _times.At(t.Start));
            if (stepSpan is null)
            {
                return;
            }

            if (live is null && stepSpan.IsAllDataRequested)
            {
                stepSpan.SetTag(TelemetryAttributes.Step, step);
                stepSpan.SetTag(TelemetryAttributes.Epoch, epoch);
                stepSpan.SetTag(TelemetryAttributes.Peer, _peer);
                stepSpan.SetTag(TelemetryAttributes.SampledBy, "slow");
            }

            stepSpan.SetTag(TelemetryAttributes.BatchSize, batchSize);
            var parent = stepSpan.Context;
            Child(SpanNames.Forward, parent, t.Start, t.Forward, ActivityKind.Internal);
            if (live is null && t.Published > t.Forward)
            {
                Child(SpanNames.Publish, parent, t.Forward, t.Published, ActivityKind.Producer);
            }

            if (teachers > 0)
            {
                var links = arrived.Where(a => a.Origin != default).Select(a => new ActivityLink(a.Origin, new ActivityTagsCollection { [TelemetryAttributes.Sender] = a.Peer })).ToList();
                var wait = Child(SpanNames.ExchangeWait, parent, t.Published, t.Gathered, ActivityKind.Consumer, links, stop: false);
                if (wait is not null)
                {
                    wait.SetTag(TelemetryAttributes.Teachers, teachers);
                    wait.SetTag(TelemetryAttributes.TeachersArrived, arrived.Count);
                    wait.Stop();
                }
            }

            if (t.Backward > t.Gathered)
            {
                Child(SpanNames.Backward, parent, t.Gathered, t.Backward, ActivityKind.Internal);
            }

            if (t.Optimized > t.Backward)
            {
                Child(SpanNames.Optimizer, parent, t.Backward, t.Optimized, ActivityKind.Internal);
            }

            stepSpan.SetEndTime(_times.At(t.Optimized));
            stepSpan.Stop();
        }
        finally
        {
            Activity.Current = saved;
        }
    }

    /// <summary>The step was abandoned (stopped while waiting, or a failure): its live span ends with that status.</summary>
    public void AbandonStep(string why)
    {
        if (_step is { } s)
        {
            s.SetStatus(ActivityStatusCode.Error, why);
            s.Stop();
            _step = null;
            Activity.Current = null;
        }
    }

    /// <summary>The loss terms and throughput of a step record.</summary>
    public void Record(StepRecord record)
    {
        if (RunnerTelemetry.Loss.Enabled)
        {
            RunnerTelemetry.Loss.Record(record.Loss, _tags);
        }

        if (RunnerTelemetry.CrossEntropy.Enabled)
        {
            RunnerTelemetry.CrossEntropy.Record(record.CrossEntropy, _tags);
        }

        if (RunnerTelemetry.Distillation.Enabled)
        {
            RunnerTelemetry.Distillation.Record(record.Distillation, _tags);
        }

        if (record.Hint is { } hint && RunnerTelemetry.Hint.Enabled)
        {
            RunnerTelemetry.Hint.Record(hint, _tags);
        }

        if (RunnerTelemetry.Throughput.Enabled)
        {
            RunnerTelemetry.Throughput.Record(record.SamplesPerSecond, _tags);
        }
    }

    /// <summary>An evaluation's span (made after it, from <paramref name="started"/>) and its accuracy.</summary>
    public void Evaluated(EvalRecord record, long started)
    {
        if (RunnerTelemetry.Accuracy.Enabled)
        {
            var tags = _tags;
            tags.Add(TelemetryAttributes.Split, record.Split);
            RunnerTelemetry.Accuracy.Record(record.Accuracy, tags);
        }

        if (Child(SpanNames.Evaluation, ParentOfSteps, started, StepTimes.Now(), ActivityKind.Internal, stop: false) is { } span)
        {
            span.SetTag(TelemetryAttributes.Step, record.Step);
            span.SetTag(TelemetryAttributes.Split, record.Split);
            span.Stop();
        }
    }

    /// <summary>A checkpoint's span (made after it, from <paramref name="started"/>), time and size.</summary>
    public void Checkpointed(long step, string path, long started)
    {
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (RunnerTelemetry.CheckpointDuration.Enabled)
        {
            RunnerTelemetry.CheckpointDuration.Record(seconds, _tags);
        }

        long size = -1;
        if (RunnerTelemetry.CheckpointSize.Enabled || _activation is not null)
        {
            try
            {
                size = new FileInfo(path).Length;
            }
            catch (IOException)
            {
            }

            if (size >= 0 && RunnerTelemetry.CheckpointSize.Enabled)
            {
                RunnerTelemetry.CheckpointSize.Record(size, _tags);
            }
        }

        if (Child(SpanNames.Checkpoint, ParentOfSteps, started, StepTimes.Now(), ActivityKind.Internal, stop: false) is { } span)
        {
            span.SetTag(TelemetryAttributes.Step, step);
            if (size >= 0)
            {
                span.SetTag(TelemetryAttributes.Bytes, size);
            }

            span.Stop();
        }
    }

    /// <summary>The activation ends with <paramref name="status"/> (and why, when it did not complete).</summary>
    public void Stop(PeerStatus status, long step, string? message)
    {
        AbandonStep(message ?? status.ToString());
        EndEpoch();
        if (_activation is { } a)
        {
            a.SetTag(TelemetryAttributes.Step, step);
            a.SetTag(TelemetryAttributes.State, status.ToString().ToLowerInvariant());
            if (status == PeerStatus.Failed)
            {
                a.SetStatus(ActivityStatusCode.Error, message);
            }

            StopDetached(a);
            _activation = null;
        }

        RunnerTelemetry.PeerStopped(_options.Cohort, _options.Run, _peer);
    }

    public void Dispose() => Stop(PeerStatus.Interrupted, -1, null);

    private ActivityContext ParentOfSteps => _epoch?.Context ?? _activation?.Context ?? default;

    private void EndEpoch()
    {
        if (_epoch is { } e)
        {
            StopDetached(e);
            _epoch = null;
        }
    }

    /// <summary>A span over [<paramref name="from"/>, <paramref name="to"/>] under <paramref name="parent"/>, made now (stopped unless asked not to); the current activity is left as it was.</summary>
    private Activity? Child(string name, ActivityContext parent, long from, long to, ActivityKind kind, IEnumerable<ActivityLink>? links = null, bool stop = true)
    {
        if (parent == default)
        {
            return null;
        }

        var saved = Activity.Current;
        try
        {
            var span = RunnerTelemetry.Source.StartActivity(name, kind, parent, links: links, startTime: _times.At(from));
            if (span is null)
            {
                return null;
            }

            span.SetEndTime(_times.At(Math.Max(from, to)));
            if (stop)
            {
                span.Stop();
            }

            return span;
        }
        finally
        {
            Activity.Current = saved;
        }
    }

    /// <summary>Stops a long-lived span without changing the current activity.</summary>
    private static void StopDetached(Activity span) => Detached(() =>
    {
        span.Stop();
        return span;
    });

    /// <summary>Runs <paramref name="act"/> (which starts or stops a long-lived span) without changing the current activity.</summary>
    private static Activity? Detached(Func<Activity?> act)
    {
        var saved = Activity.Current;
        try
        {
            return act();
        }
        finally
        {
            Activity.Current = saved;
        }
    }
}
