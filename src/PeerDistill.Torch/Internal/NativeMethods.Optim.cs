using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library, EntryPoint = "pd_optim_create")]
    internal static partial int OptimizerCreate(ModelHandle model, int kind, double* hyper, int flags, out OptimizerHandle optimizer);

    [LibraryImport(Library, EntryPoint = "pd_optim_free")]
    internal static partial void OptimizerFree(IntPtr optimizer);

    [LibraryImport(Library, EntryPoint = "pd_optim_zero_grad")]
    internal static partial int OptimizerZeroGrad(OptimizerHandle optimizer);

    [LibraryImport(Library, EntryPoint = "pd_optim_step")]
    internal static partial int OptimizerStep(OptimizerHandle optimizer);

    [LibraryImport(Library, EntryPoint = "pd_optim_set_lr")]
    internal static partial int OptimizerSetLearningRate(OptimizerHandle optimizer, double learningRate);

    [LibraryImport(Library, EntryPoint = "pd_optim_get_lr")]
    internal static partial int OptimizerGetLearningRate(OptimizerHandle optimizer, out double learningRate);
}
