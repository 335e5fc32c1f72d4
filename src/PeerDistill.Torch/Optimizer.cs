using PeerDistill.Torch.Internal;

namespace PeerDistill.Torch;

/// <summary>An optimizer over a model's trainable parameters.</summary>
public sealed unsafe class Optimizer : IDisposable
{
    private Optimizer(OptimizerHandle handle, OptimizerOptions options)
    {
        Handle = handle;
        Options = options;
    }

    internal OptimizerHandle Handle { get; }

    public OptimizerOptions Options { get; }

    public static Optimizer Create(Model model, OptimizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var hyper = stackalloc double[]
        {
            options.LearningRate, options.Momentum, options.Dampening, options.WeightDecay, options.Beta1, options.Beta2, options.Epsilon,
        };
        var flags = (options.Nesterov ? 1 : 0) | (options.AmsGrad ? 2 : 0);
        NativeStatus.Check(NativeMethods.OptimizerCreate(model.Handle, (int)options.Kind, hyper, flags, out var handle));
        return new Optimizer(handle, options);
    }

    /// <summary>The learning rate of every parameter group (set by the schedule before each step).</summary>
    public double LearningRate
    {
        get
        {
            NativeStatus.Check(NativeMethods.OptimizerGetLearningRate(Handle, out var lr));
            return lr;
        }

        set => NativeStatus.Check(NativeMethods.OptimizerSetLearningRate(Handle, value));
    }

    /// <summary>Drops the accumulated gradients (set to none, so backward writes fresh ones).</summary>
    public void ZeroGrad() => NativeStatus.Check(NativeMethods.OptimizerZeroGrad(Handle));

    public void Step() => NativeStatus.Check(NativeMethods.OptimizerStep(Handle));

    public void Dispose() => Handle.Dispose();
}
