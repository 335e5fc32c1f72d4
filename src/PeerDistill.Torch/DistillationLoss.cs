using PeerDistill.Torch.Internal;

namespace PeerDistill.Torch;

/// <summary>
/// Cross-entropy plus temperature-scaled KL to one or more teachers, computed natively with autograd:
/// KD = T^2 * KL(p_teacher || p_student) with p = softmax(z / T) (Hinton et al. 2015), the
/// teachers combined <see cref="TeacherForm.Pairwise"/> or as an <see cref="TeacherForm.Ensemble"/>.
/// </summary>
public static unsafe class DistillationLoss
{
    /// <summary>Plain cross-entropy (with optional label smoothing).</summary>
    public static LossTerms CrossEntropy(Tensor logits, Tensor targets, double labelSmoothing = 0, bool checkFinite = false) =>
        Compute(logits, targets, Array.Empty<Tensor>(), ReadOnlySpan<double>.Empty, 1.0, 0.0, TeacherForm.Pairwise, LossCombination.Convex, labelSmoothing, checkFinite);

    /// <summary>
    /// The loss of a student against its teachers. Teachers' logits are treated as constants
    /// (detached). <paramref name="weights"/> may be empty (equal weights). With
    /// <paramref name="checkFinite"/> a NaN or infinite total throws TorchException(NonFinite).
    /// </summary>
    public static LossTerms Compute(
        Tensor logits,
        Tensor targets,
        IReadOnlyList<Tensor> teachers,
        ReadOnlySpan<double> weights,
        double temperature,
        double alpha,
        TeacherForm form,
        LossCombination combination,
        double labelSmoothing = 0,
        bool checkFinite = false)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(teachers);
        if (weights.Length != 0 && weights.Length != teachers.Count)
        {
            throw new ArgumentException($"{weights.Length} weights for {teachers.Count} teachers", nameof(weights));
        }

        using var list = new HandleList(teachers);
        fixed (double* w = weights)
        {
            NativeStatus.Check(NativeMethods.LossDistill(
                logits.Handle,
                targets.Handle,
                list.Pointer,
                weights.Length == 0 ? null : w,
                teachers.Count,
                temperature,
                alpha,
                (int)form,
                (int)combination,
                labelSmoothing,
                checkFinite ? 1 : 0,
                out var total,
                out var ce,
                out var kd));
            return new LossTerms(new Tensor(total), new Tensor(ce), new Tensor(kd));
        }
    }

    /// <summary>
    /// The loss with a weight per sample and teacher (<paramref name="sampleWeights"/>: [batch,
    /// teachers], non-negative, each row normalized to sum 1 natively): pairwise KD = T^2 / B *
    /// sum_b sum_i w_bi KL(p_i,b || p_s,b), ensemble KD = T^2 / B * sum_b KL(sum_i w_bi p_i,b || p_s,b).
    /// Rows of equal weights give <see cref="Compute"/>'s value.
    /// </summary>
    public static LossTerms ComputePerSample(
        Tensor logits,
        Tensor targets,
        IReadOnlyList<Tensor> teachers,
        Tensor sampleWeights,
        double temperature,
        double alpha,
        TeacherForm form,
        LossCombination combination,
        double labelSmoothing = 0,
        bool checkFinite = false)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(teachers);
        ArgumentNullException.ThrowIfNull(sampleWeights);
        if (teachers.Count == 0)
        {
            throw new ArgumentException("per-sample weights need at least one teacher", nameof(teachers));
        }

        using var list = new HandleList(teachers);
        NativeStatus.Check(NativeMethods.LossDistillPerSample(
            logits.Handle,
            targets.Handle,
            list.Pointer,
            sampleWeights.Handle,
            teachers.Count,
            temperature,
            alpha,
            (int)form,
            (int)combination,
            labelSmoothing,
            checkFinite ? 1 : 0,
            out var total,
            out var ce,
            out var kd));
        return new LossTerms(new Tensor(total), new Tensor(ce), new Tensor(kd));
    }

    /// <summary>
    /// The hint term of FitNets (Romero et al. 2015): mean squared error between a student's
    /// projected intermediate output and the teacher's (a constant), over every element.
    /// </summary>
    public static Tensor Hint(Tensor projectedStudent, Tensor teacher)
    {
        ArgumentNullException.ThrowIfNull(projectedStudent);
        ArgumentNullException.ThrowIfNull(teacher);
        NativeStatus.Check(NativeMethods.LossHint(projectedStudent.Handle, teacher.Handle, out var loss));
        return new Tensor(loss);
    }
}
