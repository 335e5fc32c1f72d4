using PeerDistill.Core.Spec;
using PeerDistill.Torch;

namespace PeerDistill.Core.Runner;

/// <summary>One live peer: its spec, model, optimizer and schedule, and the step it starts from.</summary>
public sealed class PeerSession : IDisposable
{
    private PeerSession(PeerSpec spec, Model model, Optimizer optimizer, LearningRateSchedule schedule)
    {
        Spec = spec;
        Model = model;
        Optimizer = optimizer;
        Schedule = schedule;
    }

    public PeerSpec Spec { get; }

    public string Name => Spec.Name;

    public Model Model { get; }

    public Optimizer Optimizer { get; }

    public LearningRateSchedule Schedule { get; }

    /// <summary>Steps already trained (from a checkpoint); the loop starts here.</summary>
    public long StartStep { get; private set; }

    /// <summary>Softmax outputs on the test set after the final evaluation (for the ensemble).</summary>
    public float[]? TestProbabilities { get; set; }

    /// <summary>Builds the peer's model and optimizer; must run on the thread that will train it.</summary>
    public static PeerSession Create(PeerSpec spec, InputShape shape, int classes, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(spec);
        TorchRuntime.SetNumThreads(spec.Threads);
        var model = PeerModels.Build(spec, shape, classes);
        try
        {
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
            return new PeerSession(spec, model, optimizer, schedule);
        }
        catch
        {
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
        Optimizer.Dispose();
        Model.Dispose();
    }
}
