using PeerDistill.Core.Strategies;
using Xunit;

namespace PeerDistill.Core.Tests.Strategies;

/// <summary>The per-sample weighting rules against values computed by hand from their formulas.</summary>
public class TeacherWeightsTests
{
    private static readonly float Ln3 = (float)Math.Log(3);

    [Fact]
    public void Entropy_GivesTheMoreConfidentTeacherMore()
    {
        // H([.5, .5]) = ln 2 = 0.693147, H([.75, .25]) = 0.562335; softmax of (-0.693147, -0.562335).
        var w = TeacherWeights.Entropy([[0f, 0f], [Ln3, 0f]], batch: 1, classes: 2, tau: 1);

        Assert.Equal(0.467343545268778, w[0], 6);
        Assert.Equal(0.532656454731222, w[1], 6);
    }

    [Fact]
    public void Entropy_WithATemperature_SharpensTheSoftmaxOverTeachers()
    {
        // Entropies 0.975328, 0.665573, 0.348741; softmax of -H / 0.5.
        var w = TeacherWeights.Entropy([[0f, 0f, 1f], [2f, 0f, 0f], [0.5f, -1f, 3f]], batch: 1, classes: 3, tau: 0.5);

        Assert.Equal(0.1572462144856092, w[0], 6);
        Assert.Equal(0.2921662871158856, w[1], 6);
        Assert.Equal(0.5505874983985052, w[2], 6);
    }

    [Fact]
    public void Correctness_IsCaMkdsRule()
    {
        // Label 0. CE: ln 2, -ln 0.75, -ln 0.25; exp(CE) = 2, 4/3, 4; softmax = 6/22, 4/22, 12/22;
        // (1 - softmax) / (K - 1) = 4/11, 9/22, 5/22.
        var w = TeacherWeights.Correctness([[0f, 0f], [Ln3, 0f], [0f, Ln3]], [0L], classes: 2, tau: 1);

        Assert.Equal(4.0 / 11, w[0], 6);
        Assert.Equal(9.0 / 22, w[1], 6);
        Assert.Equal(5.0 / 22, w[2], 6);
    }

    [Fact]
    public void Correctness_TwoTeachersOverABatch_RowsSumToOne()
    {
        // Sample 0 (label 0): CE ln 2 and -ln 0.75 -> softmax 0.6, 0.4 -> weights 0.4, 0.6.
        // Sample 1 (label 1): the same logits, CE ln 2 and -ln 0.25 -> exp 2, 4 -> weights 2/3, 1/3.
        var w = TeacherWeights.Correctness([[0f, 0f, 0f, 0f], [Ln3, 0f, Ln3, 0f]], [0L, 1L], classes: 2, tau: 1);

        Assert.Equal([0.4, 0.6, 2.0 / 3, 1.0 / 3], w.Select(v => Math.Round(v, 6)), new RoundedComparer());
        Assert.Equal([(0.4 + (2.0 / 3)) / 2, (0.6 + (1.0 / 3)) / 2], TeacherWeights.ColumnMeans(w, 2, 2).Select(v => Math.Round(v, 6)), new RoundedComparer());
    }

    [Fact]
    public void Correctness_OneTeacher_WeighsOne()
    {
        Assert.Equal([1.0, 1.0], TeacherWeights.Correctness([[1f, 0f, 0f, 1f]], [1L, 0L], classes: 2, tau: 1));
    }

    [Fact]
    public void HugeLogits_GiveFiniteWeights()
    {
        var w = TeacherWeights.Correctness([[3e38f, -3e38f], [0f, 0f]], [1L], classes: 2, tau: 0.01);

        Assert.All(w, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(1.0, w.Sum(), 9);
        Assert.True(w[1] > w[0]);
    }

    [Fact]
    public void Normalize_SumsToOne_AndAllZeroIsUniform()
    {
        Assert.Equal([0.75, 0.25], TeacherWeights.Normalize([3, 1]));
        Assert.Equal([0.5, 0.5], TeacherWeights.Normalize([0, 0]));
    }

    [Fact]
    public void BadInput_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => TeacherWeights.Entropy([[0f, 0f, 0f]], 1, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => TeacherWeights.Entropy([[0f, 0f]], 1, 2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TeacherWeights.Correctness([[0f, 0f], [0f, 0f]], [2L], 2, 1));
    }

    private sealed class RoundedComparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-6;

        public int GetHashCode(double obj) => 0;
    }
}
