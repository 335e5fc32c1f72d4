using PeerDistill.Core.Spec;
using PeerDistill.Torch;

namespace PeerDistill.Core.Runner;

/// <summary>One live peer: its spec, model, optimizer and schedule, and the step it starts from.</summary>
public sealed class PeerSession : IDisposable
{
    private PeerSession(PeerSpec spec, Model model, Optimizer optimizer, LearningRateSchedule schedule, HintTerm? hint)
    {
        Spec = spec;
        Model = model;
        Optimizer = optimizer;
        Schedule = schedule;
        Hint = hint;
    }

    /// <summary>This peer's hint term (<c>distillation.hint</c>), when it is a student of the hint's teacher.</summary>
    public HintTerm? Hint { get; }

    public PeerSpec Spec { get; }

    public string Name => Spec.Name;

    public Model Model { get; }

    public Optimizer Optimizer { get; }

    public LearningRateSchedule Schedule { get; }

    /// <summary>Steps already trained (from a checkpoint); the loop starts here.</summary>
    public long StartStep { get; private set; }

    /// <summary>Softmax outputs on the test set after the final evaluation (for the ensemble).</summary>
    public float[]? TestProbabilities { get; set; }

    /// <summary>
    /// Builds the peer's model and optimizer (and its hint term, when <paramref name="cohort"/> gives
    /// it one: the projection becomes part of the model before the optimizer is made); must run on
    /// the thread that will train it.
    /// </summary>
    public static PeerSession Create(PeerSpec spec, InputShape shape, int classes, long totalSteps, CohortSpec? cohort = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        TorchRuntime.SetNumThreads(spec.Threads);
        var model = PeerModels.Build(spec, shape, classes);
        HintTerm? hint = null;
        try
        {
            if (cohort is not null && HintTerm.For(cohort, spec.Name) is { } hintSpec)
            {
                hint = HintTerm.Attach(hintSpec, cohort.Peers.First(p => p.Name == hintSpec.Teacher), model, spec, shape, classes);
            }

            var o = spec.Optimizer;
            var optimizer = Optimizer.Create(model, new OptimizerOptions
            {
                Kind = o.Kind switch { "adam" => OptimizerKind.Adam, "adamw" => OptimizerKind.AdamW, _ => OptimizerKind.Sgd },
                LearningRate = o.LearningRate,
                Momentum = o.Kind == "sgd" ? o.Momentum : 0,
                Nesterov = o.Nesterov,
                WeightDecay = o.WeightDecay,
                Beta1 = o.Beta1,
                Beta2 = o.Beta2,
                Epsilon = o.Epsilon,
            });
            var s = spec.Schedule;
            var schedule = new LearningRateSchedule
            {
                Kind = s.Kind switch { "cosine" => ScheduleKind.Cosine, "step" => ScheduleKind.Step, _ => ScheduleKind.Constant },
                BaseLearningRate = o.LearningRate,
                TotalSteps = totalSteps,
                WarmupSteps = s.WarmupSteps,
                StepSize = s.StepSize,
                Gamma = s.Gamma,
                MinLearningRate = s.MinLearningRate,
            };
            return new PeerSession(spec, model, optimizer, schedule, hint);
        }
        catch
        {
            hint?.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>Restores model, optimizer and random stream from a checkpoint; the loop resumes after its steps.</summary>
    public void Restore(string checkpointPath)
    {
        StartStep = Checkpoint.Restore(checkpointPath, Model, Optimizer);
    }

    public void Dispose()
    {
        Hint?.Dispose();
        Optimizer.Dispose();
        Model.Dispose();
    }
}
