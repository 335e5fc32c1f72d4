using PeerDistill.Core.Exchange;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Strategies;

/// <summary>The multi-teacher strategy on its own: who learns from whom, the pacing of frozen teachers, each weighting rule's plan.</summary>
public class MultiTeacherStrategyTests
{
    private static readonly float Ln3 = (float)Math.Log(3);

    private static MultiTeacherOptions Options(TeacherWeighting weighting, IReadOnlyDictionary<string, double>? weights = null) => new(
        Temperature: 2,
        Alpha: 1,
        AlphaWarmupSteps: 0,
        TeacherForm.Pairwise,
        LossCombination.Additive,
        LabelSmoothing: 0,
        Teachers: new Dictionary<string, IReadOnlyList<string>> { ["t"] = [], ["p"] = ["t"], ["s"] = ["t", "p"] },
        Weights: weights ?? new Dictionary<string, double> { ["t"] = 1, ["p"] = 1, ["s"] = 1 },
        weighting,
        WeightingTemperature: 1,
        Frozen: new HashSet<string> { "t" });

    [Fact]
    public void FrozenTeacher_IsPacedByItsLearners_AndStudentsPublishToIt()
    {
        var strategy = new MultiTeacherStrategy(Options(TeacherWeighting.Uniform));

        Assert.Equal(["p", "s"], strategy.Configure("t", 0));
        Assert.Equal(["t", "p"], strategy.Configure("s", 5));
        Assert.Equal(["t"], strategy.Configure("p", 5));
        Assert.Equal(["p", "s"], strategy.Students.Order());
        Assert.True(strategy.Publishes("t"));
        Assert.True(strategy.Publishes("p"));
        Assert.True(strategy.Publishes("s")); // only so that the frozen teacher keeps in step
    }

    [Fact]
    public void FrozenPeer_GetsNoTeacher()
    {
        var strategy = new MultiTeacherStrategy(Options(TeacherWeighting.Uniform));
        using var arrived = new Arrived(("p", [1f, 0f]));
        using var y = Tensor.FromArray(new long[] { 0 }, 1);

        var plan = strategy.Aggregate("t", 0, arrived.List, y);

        Assert.Empty(plan.Teachers);
        Assert.Null(plan.MeanWeights);
    }

    [Fact]
    public void Uniform_WeighsEveryTeacherPresentAlike()
    {
        var strategy = new MultiTeacherStrategy(Options(TeacherWeighting.Uniform));
        using var arrived = new Arrived(("t", [1f, 0f]), ("p", [0f, 1f]));
        using var y = Tensor.FromArray(new long[] { 0 }, 1);

        var plan = strategy.Aggregate("s", 3, arrived.List, y);

        Assert.Equal([0.5, 0.5], plan.Weights);
        Assert.Null(plan.SampleWeights);
        Assert.Equal(0.5, plan.MeanWeights!["t"]);
        Assert.Equal(0.5, plan.MeanWeights["p"]);
        Assert.Equal(2, plan.Temperature);
    }

    [Fact]
    public void Fixed_NormalizesTheSpecWeights_AndZeroWeightTeachersAloneTeachNothing()
    {
        var strategy = new MultiTeacherStrategy(Options(TeacherWeighting.Fixed, new Dictionary<string, double> { ["t"] = 3, ["p"] = 0, ["s"] = 1 }));
        using var both = new Arrived(("t", [1f, 0f]), ("p", [0f, 1f]));
        using var onlyP = new Arrived(("p", [0f, 1f]));
        using var y = Tensor.FromArray(new long[] { 0 }, 1);

        var plan = strategy.Aggregate("s", 0, both.List, y);
        var none = strategy.Aggregate("s", 0, onlyP.List, y);

        Assert.Equal([1.0, 0.0], plan.Weights);
        Assert.Equal(1.0, plan.MeanWeights!["t"]);
        Assert.Empty(none.Teachers);
    }

    [Fact]
    public void ValidationAccuracy_WeighsByTheAccuraciesMeasuredOnceAtPrepare()
    {
        var calls = 0;
        var strategy = new MultiTeacherStrategy(Options(TeacherWeighting.ValidationAccuracy), _ =>
        {
            calls++;
            return new Dictionary<string, double> { ["t"] = 0.9, ["p"] = 0.3 };
        });
        using var arrived = new Arrived(("t", [1f, 0f]), ("p", [0f, 1f]));
        using var y = Tensor.FromArray(new long[] { 0 }, 1);
        Assert.Throws<InvalidOperationException>(() => strategy.Aggregate("s", 0, arrived.List, y));

        var data = Core.Data.CohortData.Load(new Core.Spec.DataSpec { Dataset = "synthetic", SyntheticTrainCount = 10, SyntheticTestCount = 10 });
        strategy.Prepare(data);
        strategy.Prepare(data);
        var plan = strategy.Aggregate("s", 0, arrived.List, y);

        Assert.Equal(1, calls);
        Assert.Equal(0.75, plan.Weights[0], 12);
        Assert.Equal(0.25, plan.Weights[1], 12);
        Assert.Equal(0.9, strategy.Accuracies!["t"]);
    }

    [Fact]
    public void Correctness_GivesPerSampleWeights_AndTheirBatchMeans()
    {
        var strategy = new MultiTeacherStrategy(Options(TeacherWeighting.Correctness));
        // Two samples of two classes; labels 0 and 1 (see TeacherWeightsTests for the values).
        using var arrived = new Arrived(("t", [0f, 0f, 0f, 0f]), ("p", [Ln3, 0f, Ln3, 0f]));
        using var y = Tensor.FromArray(new long[] { 0, 1 }, 2);

        var plan = strategy.Aggregate("s", 0, arrived.List, y);

        using var w = plan.SampleWeights!;
        Assert.Equal([2L, 2L], w.Shape);
        var values = w.ToFloatArray();
        Assert.Equal(0.4f, values[0], 5);
        Assert.Equal(0.6f, values[1], 5);
        Assert.Equal(2f / 3, values[2], 5);
        Assert.Equal(1f / 3, values[3], 5);
        Assert.Equal((0.4 + (2.0 / 3)) / 2, plan.MeanWeights!["t"], 6);
        Assert.Equal((0.6 + (1.0 / 3)) / 2, plan.MeanWeights["p"], 6);
        Assert.Equal(plan.MeanWeights["t"], plan.Weights[0]);
    }

    [Fact]
    public void PerSampleWeighting_WithoutLabels_IsRefused()
    {
        var strategy = new MultiTeacherStrategy(Options(TeacherWeighting.Entropy));
        using var arrived = new Arrived(("t", [0f, 0f]));

        Assert.Throws<InvalidOperationException>(() => strategy.Aggregate("s", 0, arrived.List));
    }

    /// <summary>Teachers' logits of one step, [rows, 2] each.</summary>
    private sealed class Arrived : IDisposable
    {
        public Arrived(params (string Peer, float[] Logits)[] teachers)
        {
            List = [.. teachers.Select(t => new TeacherLogits(t.Peer, 0, Tensor.FromArray(t.Logits, t.Logits.Length / 2, 2)))];
        }

        public List<TeacherLogits> List { get; }

        public void Dispose() => List.ForEach(t => t.Dispose());
    }
}
