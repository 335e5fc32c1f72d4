using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

/// <summary>
/// The distillation loss stays finite for any finite logits: a teacher's values near the float limit,
/// softened by a temperature below 1, must not turn a student's loss into NaN.
/// </summary>
public class LossStabilityTests
{
    private const int Batch = 4;
    private const int Classes = 3;

    public static TheoryData<float, double, TeacherForm> Extremes() => new()
    {
        { 3e38f, 0.5, TeacherForm.Pairwise },
        { 3e38f, 0.5, TeacherForm.Ensemble },
        { 3e38f, 0.01, TeacherForm.Pairwise },
        { 1e30f, 0.01, TeacherForm.Ensemble },
        { 3e38f, 1, TeacherForm.Pairwise },
        { 3e38f, 100, TeacherForm.Pairwise },
    };

    [Theory]
    [MemberData(nameof(Extremes))]
    public void HugeFiniteTeacher_LossAndGradientFinite_TeacherReadAsItsArgmax(float magnitude, double temperature, TeacherForm form)
    {
        // Rows of +-magnitude: the teacher is sure of the class that holds +magnitude.
        var huge = new float[Batch * Classes];
        var oneHot = new float[Batch * Classes];
        for (var i = 0; i < Batch; i++)
        {
            for (var j = 0; j < Classes; j++)
            {
                var top = j == i % Classes;
                huge[(i * Classes) + j] = top ? magnitude : -magnitude;
                oneHot[(i * Classes) + j] = top ? 0 : -1e5f;
            }
        }

        var (total, kd, grad) = Loss(huge, temperature, form);
        Assert.True(double.IsFinite(total) && double.IsFinite(kd), $"total {total}, distillation {kd}");
        Assert.All(grad, g => Assert.True(float.IsFinite(g), $"gradient {g}"));

        // The same as a teacher that puts (numerically) all its mass on that class.
        var (expectedTotal, expectedKd, _) = Loss(oneHot, temperature, form);
        Assert.Equal(expectedKd, kd, 1e-4);
        Assert.Equal(expectedTotal, total, 1e-4);
    }

    [Fact]
    public void HugeFiniteStudentRow_LossFinite()
    {
        // A row whose spread overflows float once divided by T = 0.5 (the student's own logits).
        var student = new float[] { 3e38f, -3e38f, 0, 1, 2, 3 };
        var teacher = new float[] { 0, 1, 2, 3, 4, 5 };
        using var s = Tensor.FromArray(student, 2, 3);
        using var y = Tensor.FromArray(new long[] { 0, 1 }, 2);
        using var t = Tensor.FromArray(teacher, 2, 3);
        using var loss = DistillationLoss.Compute(s, y, [t], [1.0], 0.5, 1, TeacherForm.Pairwise, LossCombination.Convex, checkFinite: true);
        Assert.True(double.IsFinite(loss.Distillation.Item()));
    }

    private static (double Total, double Kd, float[] Grad) Loss(float[] teacher, double temperature, TeacherForm form)
    {
        using var student = Tensor.FromArray(Enumerable.Range(0, Batch * Classes).Select(i => (float)Math.Sin(i)).ToArray(), Batch, Classes);
        student.RequiresGrad = true;
        using var targets = Tensor.FromArray(Enumerable.Range(0, Batch).Select(i => (long)(i % Classes)).ToArray(), Batch);
        using var t = Tensor.FromArray(teacher, Batch, Classes);
        using var loss = DistillationLoss.Compute(student, targets, [t], [1.0], temperature, 1, form, LossCombination.Additive, checkFinite: true);
        loss.Total.Backward();
        using var grad = student.Grad!;
        return (loss.Total.Item(), loss.Distillation.Item(), grad.ToFloatArray());
    }
}
