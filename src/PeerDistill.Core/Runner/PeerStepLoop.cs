using System.Diagnostics;
using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;

namespace PeerDistill.Core.Runner;

/// <summary>
/// The training loop of one peer, the same for the embedded runner and for distributed workers
/// (only the <see cref="ILogitExchange"/> differs). At step s the peer builds batch s (the same on
/// every peer), computes its logits, publishes them if anyone learns from it, gathers its teachers'
/// logits of step s, and steps on the strategy's loss. A failure of this peer (NaN or infinite
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

    // Whether a forward pass changes the model besides its parameters (batch norm, dropout): only
    // then is there anything to undo when a step is abandoned half way.
    private readonly bool _hasStepState;

    // The mean teacher weights of the steps of this run, for the summary.
    private readonly TeacherWeightTally _teacherWeights = new();

    public PeerStepLoop(
        PeerSession peer,
        CohortData data,
        IDistillationStrategy strategy,
        ILogitExchange exchange,
        ICohortObserver observer,
        StopControl stop,
        CheckpointStore checkpoints,
        PeerLoopOptions options)
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
    }

    /// <summary>Trains from the session's start step to the end (or a stop request); runs on the calling thread.</summary>
    public PeerOutcome Run(CancellationToken cancellation)
    {
        var name = _peer.Name;
        var builder = _data.NewBuilder();
        var total = _data.TotalSteps;
        var publishes = _strategy.Publishes(name);
        var clock = Stopwatch.StartNew();
        long step = _peer.StartStep;
        long samplesThisRun = 0;
        _observer.OnEvent(new PeerEvent(_options.Run, name, step, step == 0 ? "started" : "resumed",
            step == 0 ? $"{_peer.Spec.Model}, {_peer.Model.ParameterCount} parameters" : $"from the checkpoint at step {step}"));
        try
        {
            _strategy.Prepare(_data);
            while (step < total)
            {
                if (!_stop.TryBeginStep(name, step))
                {
                    return Interrupted(step, samplesThisRun, clock, $"stopped on request after {step} steps");
                }

                var (epoch, batchIndex) = _data.Sampler.Locate(step);
                try
                {
                    samplesThisRun += _peer.Spec.Frozen
                        ? FrozenStep(builder, step, epoch, batchIndex, publishes, cancellation, clock, samplesThisRun)
                        : TrainStep(builder, step, epoch, batchIndex, publishes, cancellation, clock, samplesThisRun);
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                    // Stopped while waiting for teachers: the step was undone, the completed ones are kept.
                    _stop.Leave(name);
                    return Interrupted(step, samplesThisRun, clock, $"stopped while waiting for its teachers' logits of step {step}, after {step} steps");
                }

                step++;

                var epochEnd = step % _data.StepsPerEpoch == 0;
                // The last step is measured by the final test evaluation below; a frozen peer does not change.
                if (step < total && !_peer.Spec.Frozen && ((_options.EvaluateEverySteps > 0 && step % _options.EvaluateEverySteps == 0) || (epochEnd && _options.EvaluateAtEpochEnd)))
                {
                    Evaluate(step, epochEnd ? epoch + 1 : epoch);
                }

                if (_options.CheckpointEverySteps > 0 && step % _options.CheckpointEverySteps == 0 && step < total)
                {
                    SaveCheckpoint(step);
                }
            }

            _exchange.Withdraw(name, step, "finished");
            _stop.Leave(name);
            SaveCheckpoint(step);
            var probabilities = new float[_data.Test.Count * _data.Test.Classes];
            var test = ModelEvaluation.Evaluate(_peer.Model, _data.Test, _data.Normalization, _options.EvaluationBatchSize, probabilities);
            _peer.TestProbabilities = probabilities;
            _observer.OnEvaluation(new EvalRecord(_options.Run, name, step, _data.Spec.Epochs, "test", test.Accuracy, test.MeanLoss, Final: true));
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
    private int TrainStep(Torch.Data.BatchBuilder builder, long step, int epoch, int batchIndex, bool publishes, CancellationToken cancellation, Stopwatch clock, long samplesBefore)
    {
        var name = _peer.Name;
        var lr = _peer.Schedule.At(step);
        _peer.Optimizer.LearningRate = lr;
        var batch = builder.Build(_data.Sampler, epoch, batchIndex);
        using var x = OnDevice(batch.ImagesTensor());
        using var y = OnDevice(batch.LabelsTensor());
        var wanted = _strategy.Configure(name, step);
        using var before = wanted.Count > 0 && _hasStepState ? _peer.Model.CaptureStepState() : null;
        _peer.Optimizer.ZeroGrad();
        var (forward, hintOutput) = _peer.Hint is { } hintTerm ? hintTerm.Forward(_peer.Model, x) : (_peer.Model.Forward(x), null);
        using var logits = forward;
        using var studentOutput = hintOutput;
        if (publishes)
        {
            // Never hand a peer non-finite or absurd logits: a diverged peer leaves before anyone learns from it.
            logits.EnsureFinite($"logits at step {step}", _options.MaxAbsLogit);
            _exchange.Publish(name, step, logits.Detach());
        }

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

            throw;
        }

        try
        {
            var plan = _strategy.Aggregate(name, step, arrived, y);
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

            _peer.Optimizer.Step();
            var elapsed = clock.Elapsed.TotalSeconds;
            _observer.OnStep(new StepRecord(
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
                elapsed) { TeacherWeights = plan.MeanWeights, Hint = hint });
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
    private int FrozenStep(Torch.Data.BatchBuilder builder, long step, int epoch, int batchIndex, bool publishes, CancellationToken cancellation, Stopwatch clock, long samplesBefore)
    {
        var name = _peer.Name;
        var batch = builder.Build(_data.Sampler, epoch, batchIndex);
        using var x = OnDevice(batch.ImagesTensor());
        using var y = OnDevice(batch.LabelsTensor());
        using var logits = _peer.Model.Predict(x);
        logits.EnsureFinite($"logits at step {step}", _options.MaxAbsLogit);
        if (publishes)
        {
            _exchange.Publish(name, step, logits.Detach());
        }

        var pace = _strategy.Configure(name, step);
        if (pace.Count > 0)
        {
            foreach (var t in _exchange.Gather(name, step, pace, cancellation))
            {
                t.Dispose();
            }
        }

        using var ce = DistillationLoss.CrossEntropy(logits, y, checkFinite: true);
        var loss = ce.Total.Item();
        var elapsed = clock.Elapsed.TotalSeconds;
        _observer.OnStep(new StepRecord(_options.Run, name, step, epoch, loss, loss, 0, 0, 0, 0, (samplesBefore + batch.Count) / Math.Max(elapsed, 1e-9), elapsed));
        return batch.Count;
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
        var result = ModelEvaluation.Evaluate(_peer.Model, _data.Evaluation, _data.Normalization, _options.EvaluationBatchSize);
        _observer.OnEvaluation(new EvalRecord(_options.Run, _peer.Name, step, epoch, _data.EvaluationName, result.Accuracy, result.MeanLoss));
    }

    private void SaveCheckpoint(long stepsCompleted)
    {
        var (epoch, _) = stepsCompleted < _data.TotalSteps ? _data.Sampler.Locate(stepsCompleted) : (_data.Spec.Epochs, 0);
        var path = _checkpoints.Save(_peer.Name, _peer.Model, _peer.Optimizer, stepsCompleted, new Dictionary<string, object>
        {
            ["cohort"] = _options.Cohort,
            ["run"] = _options.Run,
            ["peer"] = _peer.Name,
            ["model"] = _peer.Spec.Model,
            ["step"] = stepsCompleted,
            ["epoch"] = epoch,
        });
        _observer.OnEvent(new PeerEvent(_options.Run, _peer.Name, stepsCompleted, "checkpoint", path));
    }

    private PeerOutcome Outcome(PeerStatus status, long steps, long samples, Stopwatch clock, double? accuracy, double? loss, string? message = null) =>
        new(_peer.Name, _peer.Spec.Model, status, steps, accuracy, loss, samples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), message, samples) { TeacherWeights = _teacherWeights.Means() };
}
