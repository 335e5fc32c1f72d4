using System.Diagnostics;
using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Strategies;
using PeerDistill.Core.Telemetry;
using PeerDistill.Torch;

namespace PeerDistill.Core.Runner;

/// <summary>
/// The training loop of one peer, the same for the embedded runner and for distributed workers
/// (only the <see cref="ILogitExchange"/> differs). At step s the peer builds the batch its
/// <see cref="IStepPlan"/> names (for DML batch s of the shared order, the same on every peer; for
/// a federated peer a public or a private batch, and indices it has nothing to do at are skipped),
/// computes its logits, publishes them if anyone learns from it and the plan says so, gathers its
/// teachers' logits of step s, and steps on the strategy's loss. A failure of this peer (NaN or infinite
/// logits or loss, an I/O error) ends this peer only: it withdraws from the exchange, and the other
/// peers go on without it. A stop ends the peer at a step boundary, or (cancellation) while it waits
/// for its teachers, with that step undone; either way it checkpoints the steps it completed.
/// </summary>
public sealed class PeerStepLoop
{
    private readonly PeerSession _peer;
    private readonly CohortData _data;
    private readonly IDistillationStrategy _strategy;
    private readonly ILogitExchange _exchange;
    private readonly ICohortObserver _observer;
    private readonly StopControl _stop;
    private readonly CheckpointStore _checkpoints;
    private readonly PeerLoopOptions _options;

    // Which batch each step index trains on, and whether it publishes, gathers and updates (the
    // shared batch order at every step for DML; public and private steps for federated peers).
    private readonly IStepPlan _plan;
    private readonly LogitNoise _noise;

    // Whether a forward pass changes the model besides its parameters (batch norm, dropout): only
    // then is there anything to undo when a step is abandoned half way.
    private readonly bool _hasStepState;

    // The mean teacher weights of the steps of this run, for the summary.
    private readonly TeacherWeightTally _teacherWeights = new();

    // The changes of the settings (the spec's and those announced while it runs), and the settings
    // before any: alpha and temperature are overridden only where a change made them differ.
    private readonly ChangeSchedule _schedule;
    private readonly StepSettings _initial;

    // Spans and measurements of this loop (nothing when telemetry is off).
    private readonly StepTracer _trace;

    public PeerStepLoop(
        PeerSession peer,
        CohortData data,
        IDistillationStrategy strategy,
        ILogitExchange exchange,
        ICohortObserver observer,
        StopControl stop,
        CheckpointStore checkpoints,
        PeerLoopOptions options,
        ChangeSchedule? schedule = null)
    {
        _peer = peer;
        _data = data;
        _strategy = strategy;
        _exchange = exchange;
        _observer = observer;
        _stop = stop;
        _checkpoints = checkpoints;
        _options = options;
        _hasStepState = peer.Model.HasStepState;
        _plan = StepPlans.For(data, strategy, peer.Name);
        _noise = new LogitNoise(data.Federation?.NoiseSigma ?? 0, peer.Spec.Seed);
        _initial = options.Settings ?? new StepSettings(0, 0, 0, 1, options.EvaluateEverySteps, options.EvaluateAtEpochEnd, options.CheckpointEverySteps);
        _schedule = schedule ?? new ChangeSchedule(_initial, options.Changes);
        _trace = new StepTracer(options, peer.Name, peer.Spec.Model, peer.Spec.Device);
    }

    /// <summary>The changes this loop applies; announce more while it runs (see <see cref="ChangeSchedule"/>).</summary>
    public ChangeSchedule Schedule => _schedule;

    /// <summary>Trains from the session's start step to the end (or a stop request); runs on the calling thread.</summary>
    public PeerOutcome Run(CancellationToken cancellation)
    {
        // The loop's spans are its own: whatever activity the caller's thread carries is not their parent.
        var callers = Activity.Current;
        Activity.Current = null;
        try
        {
            _trace.Start(_peer.StartStep);
            return RunSteps(cancellation);
        }
        finally
        {
            _trace.Dispose();
            Activity.Current = callers;
        }
    }

    private PeerOutcome RunSteps(CancellationToken cancellation)
    {
        var name = _peer.Name;
        var total = _plan.TotalSteps;
        var publishes = _strategy.Publishes(name);
        var clock = Stopwatch.StartNew();
        long step = _plan.NextAtOrAfter(_peer.StartStep);
        // Every index before this one is done (the start step, or the end of the last step run).
        var doneThrough = _peer.StartStep;
        long samplesThisRun = 0;
        _schedule.StartFrom(_peer.StartStep);
        _observer.OnEvent(new PeerEvent(_options.Run, name, _peer.StartStep, _peer.StartStep == 0 ? "started" : "resumed",
            _peer.StartStep == 0 ? $"{_peer.Spec.Model}, {_peer.Model.ParameterCount} parameters" : $"from the checkpoint at step {step}"));
        try
        {
            _strategy.Prepare(_data);
            while (step < total)
            {
                // The settings are those of this step, every change up to it applied (a change agreed
                // on for a later step holds the loop here until the cohort decides); then the stop.
                var settings = _schedule.Begin(step, cancellation);
                if (!_stop.TryBeginStep(name, step))
                {
                    return Interrupted(StopLabel(doneThrough, step), samplesThisRun, clock, $"stopped on request after {step} steps");
                }

                var planned = _plan.At(step);
                try
                {
                    samplesThisRun += _peer.Spec.Frozen
                        ? FrozenStep(planned, step, publishes, cancellation, clock, samplesThisRun)
                        : TrainStep(planned, step, publishes, cancellation, clock, samplesThisRun, settings);
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                    // Stopped while waiting for teachers: the step was undone, the completed ones are kept.
                    _trace.AbandonStep("stopped while waiting for its teachers");
                    _stop.Leave(name);
                    return Interrupted(step, samplesThisRun, clock, $"stopped while waiting for its teachers' logits of step {step}, after {step} steps");
                }

                // The indices up to the next one this peer runs are done too (nothing to do at them):
                // an evaluation or checkpoint due at any of them is taken once, at the last one due.
                var ran = step + 1;
                step = _plan.NextAtOrAfter(ran);
                doneThrough = ran;
                var epochEnd = settings.EvaluateAtEpochEnd ? _plan.LastEpochEndIn(ran - 1, step) : null;
                var evaluateAt = Latest(LastMultipleIn(ran - 1, step, settings.EvaluateEverySteps), epochEnd);
                // The last step is measured by the final test evaluation below; a frozen peer does not change.
                if (evaluateAt is { } e && e < total && !_peer.Spec.Frozen)
                {
                    Evaluate(e, _plan.EpochAfter(e));
                }

                if (LastMultipleIn(ran - 1, step, settings.CheckpointEverySteps) is { } c && c < total)
                {
                    SaveCheckpoint(c);
                }
            }

            if (_stop.StopStep is { } stopAt && stopAt >= doneThrough && stopAt < total)
            {
                // Nothing left to run, but asked to stop at a step this peer skipped to the end over
                // (a federated peer whose last round ended early): the others stop there, so it does too.
                return Interrupted(stopAt, samplesThisRun, clock, $"stopped on request at step {stopAt}");
            }

            _exchange.Withdraw(name, step, "finished");
            _stop.Leave(name);
            SaveCheckpoint(step);
            var probabilities = new float[_data.Test.Count * _data.Test.Classes];
            var testStarted = StepTimes.Now();
            var test = ModelEvaluation.Evaluate(_peer.Model, _data.Test, _data.Normalization, _options.EvaluationBatchSize, probabilities);
            _peer.TestProbabilities = probabilities;
            var testRecord = new EvalRecord(_options.Run, name, step, _plan.EpochAfter(step), "test", test.Accuracy, test.MeanLoss, Final: true);
            _trace.Evaluated(testRecord, testStarted);
            _observer.OnEvaluation(testRecord);
            _observer.OnEvent(new PeerEvent(_options.Run, name, step, "finished", $"test accuracy {test.Accuracy:F4}"));
            return Outcome(PeerStatus.Completed, step, samplesThisRun, clock, test.Accuracy, test.MeanLoss);
        }
        catch (Exception e) when (e is TorchException or IOException or UnauthorizedAccessException)
        {
            // This peer's failure is data: it leaves, the others go on.
            _exchange.Withdraw(name, step, e.Message);
            _stop.Leave(name);
            var message = $"peer '{name}' stopped at step {step}: {e.Message}";
            _observer.OnEvent(new PeerEvent(_options.Run, name, step, "failed", message));
            return Outcome(PeerStatus.Failed, step, samplesThisRun, clock, null, null, message);
        }
    }

    /// <summary>The last multiple of <paramref name="every"/> in (<paramref name="after"/>, <paramref name="upTo"/>], if any (none when every is 0).</summary>
    private static long? LastMultipleIn(long after, long upTo, long every)
    {
        if (every <= 0)
        {
            return null;
        }

        var last = upTo / every * every;
        return last > after ? last : null;
    }

    private static long? Latest(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);

    /// <summary>
    /// The completed-steps count a stop on request is recorded at: the step it was asked to stop
    /// at when that lies in the indices this peer skipped up to <paramref name="next"/> (every
    /// count there is the same state), so that peers that skip and peers that do not checkpoint
    /// the same count; otherwise <paramref name="next"/>.
    /// </summary>
    private long StopLabel(long doneThrough, long next) =>
        _stop.StopStep is { } at && at >= doneThrough && at <= next ? at : next;

    /// <summary>Ends the run at <paramref name="step"/> completed steps: a checkpoint of them (unless the stop said not to), then the exchange is left.</summary>
    private PeerOutcome Interrupted(long step, long samples, Stopwatch clock, string reason)
    {
        var name = _peer.Name;
        long? checkpoint = null;
        if (_stop.CheckpointOnStop)
        {
            SaveCheckpoint(step);
            checkpoint = step;
        }

        _exchange.Withdraw(name, step, "interrupted");
        _observer.OnEvent(new PeerEvent(_options.Run, name, step, "interrupted", reason + (checkpoint is null ? "; no checkpoint written (as asked)" : "; checkpoint saved")));
        return Outcome(PeerStatus.Interrupted, step, samples, clock, null, null) with { CheckpointStep = checkpoint };
    }

    /// <summary>
    /// Trains one step; returns the number of samples in its batch. Cancelled while it waits for
    /// teachers, it undoes what the forward pass changed (batch-norm statistics, the random stream)
    /// and throws <see cref="OperationCanceledException"/>: the model is then exactly as after the
    /// previous step, the optimizer untouched.
    /// </summary>
    private int TrainStep(PlannedStep planned, long step, bool publishes, CancellationToken cancellation, Stopwatch clock, long samplesBefore, StepSettings settings)
    {
        var name = _peer.Name;
        var (builder, epoch) = (planned.Builder, planned.Epoch);
        var lr = _peer.Schedule.At(step);
        if (settings.LearningRateScale != 1)
        {
            lr *= settings.LearningRateScale;
        }

        _peer.Optimizer.LearningRate = lr;
        _trace.BeginStep(step, epoch);
        var batch = builder.Build(planned.Sampler, planned.SamplerEpoch, planned.BatchIndex);
        using var x = OnDevice(batch.ImagesTensor());
        using var y = OnDevice(batch.LabelsTensor());
        var wanted = planned.Gather ? _strategy.Configure(name, step) : Array.Empty<string>();
        using var before = wanted.Count > 0 && _hasStepState ? _peer.Model.CaptureStepState() : null;
        _peer.Optimizer.ZeroGrad();
        var (forward, hintOutput) = _peer.Hint is { } hintTerm
            ? hintTerm.Forward(_peer.Model, x)
            : (planned.Train ? _peer.Model.Forward(x) : PredictInEvaluationMode(x), null);
        using var logits = forward;
        using var studentOutput = hintOutput;
        _trace.Times.Forward = StepTimes.Now();
        Tensor? own = null;
        if (publishes && planned.Publish)
        {
            // Never hand a peer non-finite or absurd logits: a diverged peer leaves before anyone learns from it.
            logits.EnsureFinite($"logits at step {step}", _options.MaxAbsLogit);
            var published = _noise.Apply(logits, step);
            own = planned.IncludeSelf ? published.Detach() : null;
            Publish(name, step, published);
        }

        _trace.Times.Published = StepTimes.Now();

        IReadOnlyList<TeacherLogits> arrived;
        try
        {
            arrived = wanted.Count == 0 ? Array.Empty<TeacherLogits>() : _exchange.Gather(name, step, wanted, cancellation);
        }
        catch (OperationCanceledException)
        {
            if (before is not null)
            {
                _peer.Model.RestoreStepState(before);
            }

            own?.Dispose();
            throw;
        }

        _trace.Times.Gathered = _trace.Times.Backward = _trace.Times.Optimized = StepTimes.Now();
        if (own is not null)
        {
            arrived = [new TeacherLogits(name, step, own), .. arrived];
        }

        try
        {
            if (!planned.Train)
            {
                // Logits published (and a barrier waited for); nothing to learn at this step.
                _trace.EndStep(step, epoch, 0, wanted.Count, arrived);
                return 0;
            }

            var plan = Changed(_strategy.Aggregate(name, step, arrived, y), step, settings);
            double total, crossEntropy, distillation;
            double? hint = null;
            if (arrived.Any(t => t.Step != step))
            {
                (total, crossEntropy, distillation) = StepOnStaleTeachers(builder, step, logits, y, arrived, plan);
            }
            else
            {
                (total, crossEntropy, distillation, hint) = StepOnCurrentTeachers(x, logits, y, studentOutput, plan);
            }

            _trace.Times.Backward = StepTimes.Now();
            _peer.Optimizer.Step();
            _trace.Times.Optimized = StepTimes.Now();
            _trace.EndStep(step, epoch, batch.Count, wanted.Count, arrived);
            var elapsed = clock.Elapsed.TotalSeconds;
            var record = new StepRecord(
                _options.Run,
                name,
                step,
                epoch,
                total,
                crossEntropy,
                distillation,
                lr,
                plan.Teachers.Count > 0 ? plan.Alpha : 0,
                plan.Teachers.Count,
                (samplesBefore + batch.Count) / Math.Max(elapsed, 1e-9),
                elapsed)
            {
                TeacherWeights = plan.MeanWeights,
                Hint = hint,
                StepSeconds = _trace.Times.Elapsed.TotalSeconds,
                WaitSeconds = wanted.Count > 0 ? _trace.Times.Wait.TotalSeconds : null,
            };
            _trace.Record(record);
            _observer.OnStep(record);
            _teacherWeights.Add(plan.MeanWeights);
            return batch.Count;
        }
        finally
        {
            foreach (var t in arrived)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// The strategy's plan with the changed alpha and temperature of <paramref name="settings"/>,
    /// where a change made them differ from the spec's (a plan without teachers stays as it is).
    /// </summary>
    private TeacherPlan Changed(TeacherPlan plan, long step, StepSettings settings)
    {
        if (plan.Teachers.Count == 0)
        {
            return plan;
        }

        if (settings.Alpha != _initial.Alpha || settings.AlphaWarmupSteps != _initial.AlphaWarmupSteps)
        {
            plan = plan with { Alpha = AlphaRamp.At(settings.Alpha, settings.AlphaWarmupSteps, step) };
        }

        return settings.Temperature != _initial.Temperature ? plan with { Temperature = settings.Temperature } : plan;
    }

    /// <summary>
    /// Back-propagates the loss on teachers' logits of this step: CE + alpha KD with per-teacher or
    /// per-sample weights (<see cref="TeacherPlan.SampleWeights"/>, disposed here), plus the hint
    /// term when the peer has one. Returns the loss terms (the total includes the hint).
    /// </summary>
    private (double Total, double CrossEntropy, double Distillation, double? Hint) StepOnCurrentTeachers(Tensor x, Tensor logits, Tensor y, Tensor? studentOutput, TeacherPlan plan)
    {
        using var sampleWeights = plan.SampleWeights;
        using var loss = sampleWeights is null
            ? DistillationLoss.Compute(logits, y, plan.Teachers, plan.Weights, plan.Temperature, plan.Alpha, plan.Form, plan.Combination, plan.LabelSmoothing, checkFinite: true)
            : DistillationLoss.ComputePerSample(logits, y, plan.Teachers, sampleWeights, plan.Temperature, plan.Alpha, plan.Form, plan.Combination, plan.LabelSmoothing, checkFinite: true);
        if (studentOutput is null)
        {
            loss.Total.Backward();
            return (loss.Total.Item(), loss.CrossEntropy.Item(), loss.Distillation.Item(), null);
        }

        using var withHint = _peer.Hint!.AddTo(loss.Total, _peer.Model, studentOutput, x, out var hint);
        withHint.Backward();
        return (withHint.Item(), loss.CrossEntropy.Item(), loss.Distillation.Item(), hint);
    }

    /// <summary>
    /// One step of a frozen teacher: its logits of batch s under no_grad, in evaluation mode,
    /// published; then it waits for its learners' logits of step s (the strategy names them) only
    /// to stay in step with them. Nothing changes in the model. Its step record carries its
    /// cross-entropy on the batch, with no distillation and learning rate 0.
    /// </summary>
    private int FrozenStep(PlannedStep planned, long step, bool publishes, CancellationToken cancellation, Stopwatch clock, long samplesBefore)
    {
        var name = _peer.Name;
        var epoch = planned.Epoch;
        _trace.BeginStep(step, epoch);
        var batch = planned.Builder.Build(planned.Sampler, planned.SamplerEpoch, planned.BatchIndex);
        using var x = OnDevice(batch.ImagesTensor());
        using var y = OnDevice(batch.LabelsTensor());
        using var logits = _peer.Model.Predict(x);
        logits.EnsureFinite($"logits at step {step}", _options.MaxAbsLogit);
        _trace.Times.Forward = StepTimes.Now();
        if (publishes)
        {
            Publish(name, step, logits.Detach());
        }

        _trace.Times.Published = StepTimes.Now();
        var pace = _strategy.Configure(name, step);
        IReadOnlyList<TeacherLogits> arrived = pace.Count > 0 ? _exchange.Gather(name, step, pace, cancellation) : [];
        try
        {
            _trace.Times.Gathered = StepTimes.Now();
            using var ce = DistillationLoss.CrossEntropy(logits, y, checkFinite: true);
            var loss = ce.Total.Item();
            _trace.Times.Backward = _trace.Times.Optimized = StepTimes.Now();
            _trace.EndStep(step, epoch, batch.Count, pace.Count, arrived);
            var elapsed = clock.Elapsed.TotalSeconds;
            var record = new StepRecord(_options.Run, name, step, epoch, loss, loss, 0, 0, 0, 0, (samplesBefore + batch.Count) / Math.Max(elapsed, 1e-9), elapsed)
            {
                StepSeconds = _trace.Times.Elapsed.TotalSeconds,
                WaitSeconds = pace.Count > 0 ? _trace.Times.Wait.TotalSeconds : null,
            };
            _trace.Record(record);
            _observer.OnStep(record);
            return batch.Count;
        }
        finally
        {
            foreach (var t in arrived)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// Back-propagates a loss whose teachers' logits are partly from earlier steps (bounded-staleness
    /// exchange): logits of step s' are distilled on batch s', through a forward pass of this peer on
    /// that batch, each step's group of teachers weighted by its share of the teacher weights:
    /// loss = w_CE * CE(step) + alpha * sum over groups of share * KD(group). Returns the loss terms.
    /// </summary>
    private (double Total, double CrossEntropy, double Distillation) StepOnStaleTeachers(
        Torch.Data.BatchBuilder builder, long step, Tensor logits, Tensor y, IReadOnlyList<TeacherLogits> arrived, TeacherPlan plan)
    {
        var weightSum = plan.Weights.Sum();
        var ceWeight = plan.Combination == LossCombination.Convex ? 1 - plan.Alpha : 1;
        using var ce = DistillationLoss.Compute(logits, y, Array.Empty<Tensor>(), ReadOnlySpan<double>.Empty, 1, 0, TeacherForm.Pairwise, LossCombination.Convex, plan.LabelSmoothing, checkFinite: true);
        var crossEntropy = ce.CrossEntropy.Item();
        var total = ce.Total.Mul(ceWeight);
        var distillation = 0.0;
        try
        {
            foreach (var group in arrived.Select((t, i) => (Teacher: t, Index: i)).GroupBy(t => t.Teacher.Step))
            {
                var teachers = group.Select(g => plan.Teachers[g.Index]).ToList();
                var weights = group.Select(g => plan.Weights[g.Index]).ToArray();
                var share = weights.Sum() / weightSum;
                Tensor? staleX = null, staleY = null, staleLogits = null;
                try
                {
                    if (group.Key != step)
                    {
                        var (epoch, batchIndex) = _data.Sampler.Locate(group.Key);
                        var batch = builder.Build(_data.Sampler, epoch, batchIndex);
                        staleX = OnDevice(batch.ImagesTensor());
                        staleY = OnDevice(batch.LabelsTensor());
                        staleLogits = _peer.Model.Forward(staleX);
                    }

                    using var kd = DistillationLoss.Compute(staleLogits ?? logits, staleY ?? y, teachers, weights, plan.Temperature, 1, plan.Form, LossCombination.Convex, plan.LabelSmoothing, checkFinite: true);
                    distillation += share * kd.Distillation.Item();
                    using var part = kd.Total.Mul(plan.Alpha * share);
                    var sum = total.Add(part);
                    total.Dispose();
                    total = sum;
                }
                finally
                {
                    staleLogits?.Dispose();
                    staleY?.Dispose();
                    staleX?.Dispose();
                }
            }

            total.Backward();
            return (total.Item(), crossEntropy, distillation);
        }
        finally
        {
            total.Dispose();
        }
    }

    /// <summary>Hands this step's logits to the exchange under the step's publish span, when the step is traced live (frames carry its context).</summary>
    private void Publish(string name, long step, Tensor logits)
    {
        var span = _trace.StartPublish();
        try
        {
            _exchange.Publish(name, step, logits);
        }
        finally
        {
            _trace.EndPublish(span);
        }
    }

    /// <summary>Logits of a step that only publishes: evaluation mode (no dropout, batch-norm statistics untouched), no autograd.</summary>
    private Tensor PredictInEvaluationMode(Tensor x)
    {
        _peer.Model.Eval();
        try
        {
            return _peer.Model.Predict(x);
        }
        finally
        {
            _peer.Model.Train();
        }
    }

    private Tensor OnDevice(Tensor t)
    {
        if (_peer.Spec.Device == "cpu")
        {
            return t;
        }

        using (t)
        {
            return t.To(_peer.Spec.Device);
        }
    }

    private void Evaluate(long step, int epoch)
    {
        var started = StepTimes.Now();
        var result = ModelEvaluation.Evaluate(_peer.Model, _data.Evaluation, _data.Normalization, _options.EvaluationBatchSize);
        var record = new EvalRecord(_options.Run, _peer.Name, step, epoch, _data.EvaluationName, result.Accuracy, result.MeanLoss);
        _trace.Evaluated(record, started);
        _observer.OnEvaluation(record);
    }

    private void SaveCheckpoint(long stepsCompleted)
    {
        var epoch = _plan.EpochAfter(stepsCompleted);
        var started = StepTimes.Now();
        var path = _checkpoints.Save(_peer.Name, _peer.Model, _peer.Optimizer, stepsCompleted, new Dictionary<string, object>
        {
            ["cohort"] = _options.Cohort,
            ["run"] = _options.Run,
            ["peer"] = _peer.Name,
            ["model"] = _peer.Spec.Model,
            ["step"] = stepsCompleted,
            ["epoch"] = epoch,
        });
        _trace.Checkpointed(stepsCompleted, path, started);
        _observer.OnEvent(new PeerEvent(_options.Run, _peer.Name, stepsCompleted, "checkpoint", path));
    }

    private PeerOutcome Outcome(PeerStatus status, long steps, long samples, Stopwatch clock, double? accuracy, double? loss, string? message = null)
    {
        _trace.Stop(status, steps, message);
        return new(_peer.Name, _peer.Spec.Model, status, steps, accuracy, loss, samples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), message, samples) { TeacherWeights = _teacherWeights.Means() };
    }
}
