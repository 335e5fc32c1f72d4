using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;

namespace PeerDistill.Core.Runner;

/// <summary>
/// A student's hint term (FitNets, Romero et al. 2015; <c>distillation.hint</c>): the student's
/// own copy of the frozen teacher (built from the same file, evaluated under no_grad on the
/// student's batch, so nothing crosses the exchange), and the learned projection it adds to the
/// student's model (a 1x1 convolution for [N, C, H, W] outputs, a linear map for [N, C]), which the
/// student's optimizer trains and its checkpoints keep. The term is weight * MSE(projection(student
/// output), teacher output).
/// </summary>
public sealed class HintTerm : IDisposable
{
    private HintTerm(HintSpec spec, Model teacher)
    {
        Spec = spec;
        Teacher = teacher;
    }

    public HintSpec Spec { get; }

    /// <summary>The student's copy of the frozen teacher, in evaluation mode.</summary>
    public Model Teacher { get; }

    /// <summary>The hint <paramref name="peer"/> of <paramref name="cohort"/> takes: null unless it learns from the hint's teacher and is one of the hint's students.</summary>
    public static HintSpec? For(CohortSpec cohort, string peer)
    {
        ArgumentNullException.ThrowIfNull(cohort);
        var d = cohort.Distillation;
        if (d.Strategy != MultiTeacherStrategy.StrategyKey || d.Hint is not { } hint || cohort.Peers.FirstOrDefault(p => p.Name == peer) is not { Frozen: false })
        {
            return null;
        }

        var learns = d.Teachers is not null && d.Teachers.TryGetValue(peer, out var teachers) && teachers.Contains(hint.Teacher, StringComparer.Ordinal);
        return learns && (hint.Students is null || hint.Students.Contains(peer, StringComparer.Ordinal)) ? hint : null;
    }

    /// <summary>
    /// Builds the teacher's copy on the student's device, checks that the two outputs can be
    /// compared (the same rank, 2 or 4, and for 4 the same height and width) and adds the
    /// projection to <paramref name="student"/> (before its optimizer is made), initialised from the student's seed.
    /// </summary>
    public static HintTerm Attach(HintSpec spec, PeerSpec teacherSpec, Model student, PeerSpec studentSpec, InputShape shape, int classes)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(teacherSpec);
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(studentSpec);
        var teacher = PeerModels.Build(teacherSpec with { Device = studentSpec.Device }, shape, classes);
        try
        {
            var t = OutputShape(teacher, spec.TeacherLayer, shape, studentSpec.Device);
            var s = OutputShape(student, spec.StudentLayer, shape, studentSpec.Device);
            if (t.Length != s.Length || t.Length is not (2 or 4) || (t.Length == 4 && (t[2] != s[2] || t[3] != s[3])))
            {
                throw new ArgumentException(
                    $"the student's output '{spec.StudentLayer}' is [{string.Join(", ", s[1..])}] per sample and the teacher's '{spec.TeacherLayer}' is [{string.Join(", ", t[1..])}]: " +
                    "they need the same rank and height and width (the projection maps channels only)");
            }

            student.AddHintProjection(s[1], t[1], spatial: t.Length == 4, studentSpec.Seed);
            return new HintTerm(spec, teacher);
        }
        catch
        {
            teacher.Dispose();
            throw;
        }
    }

    /// <summary>The student's forward pass: its logits and its hint output, from the same ops.</summary>
    public (Tensor Logits, Tensor Output) Forward(Model student, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(student);
        return student.ForwardWithOutput(x, Spec.StudentLayer);
    }

    /// <summary><paramref name="total"/> + weight * MSE(projection(<paramref name="studentOutput"/>), teacher output on <paramref name="x"/>); the hint's value in <paramref name="hint"/>.</summary>
    public Tensor AddTo(Tensor total, Model student, Tensor studentOutput, Tensor x, out double hint)
    {
        ArgumentNullException.ThrowIfNull(total);
        ArgumentNullException.ThrowIfNull(student);
        var (logits, teacherOutput) = Teacher.ForwardWithOutput(x, Spec.TeacherLayer, grad: false);
        using (logits)
        using (teacherOutput)
        {
            using var projected = student.ProjectHint(studentOutput);
            using var mse = DistillationLoss.Hint(projected, teacherOutput);
            hint = mse.Item();
            using var weighted = mse.Mul(Spec.Weight);
            return total.Add(weighted);
        }
    }

    public void Dispose() => Teacher.Dispose();

    /// <summary>The shape of a named output for one zero input, in evaluation mode (nothing in the model changes).</summary>
    private static long[] OutputShape(Model model, string layer, InputShape shape, string device)
    {
        var training = model.IsTraining;
        model.Eval();
        try
        {
            using var cpu = Tensor.FromArray(new float[shape.Size], 1, shape.Channels, shape.Height, shape.Width);
            using var x = device == "cpu" ? cpu.Detach() : cpu.To(device);
            var (logits, output) = model.ForwardWithOutput(x, layer, grad: false);
            using (logits)
            using (output)
            {
                return output.Shape;
            }
        }
        finally
        {
            model.IsTraining = training;
        }
    }
}
