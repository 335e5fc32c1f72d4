using System.Runtime.InteropServices;

namespace PeerDistill.Torch.Internal;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library, EntryPoint = "pd_loss_distill")]
    internal static partial int LossDistill(
        TensorHandle logits,
        TensorHandle targets,
        IntPtr* teachers,
        double* weights,
        int teacherCount,
        double temperature,
        double alpha,
        int form,
        int combine,
        double labelSmoothing,
        int checkFinite,
        out TensorHandle total,
        out TensorHandle crossEntropy,
        out TensorHandle distillation);

    [LibraryImport(Library, EntryPoint = "pd_loss_distill_per_sample")]
    internal static partial int LossDistillPerSample(
        TensorHandle logits,
        TensorHandle targets,
        IntPtr* teachers,
        TensorHandle sampleWeights,
        int teacherCount,
        double temperature,
        double alpha,
        int form,
        int combine,
        double labelSmoothing,
        int checkFinite,
        out TensorHandle total,
        out TensorHandle crossEntropy,
        out TensorHandle distillation);

    [LibraryImport(Library, EntryPoint = "pd_loss_hint")]
    internal static partial int LossHint(TensorHandle student, TensorHandle teacher, out TensorHandle loss);
}
