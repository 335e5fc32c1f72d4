using PeerDistill.Core.Spec;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

public class StrategyTests
{
    [Fact]
    public void Dml_DefaultsToAllToAll()
    {
        var spec = TestSpecs.Synthetic("x", peers: [TestSpecs.Peer("a", "mlp", 1), TestSpecs.Peer("b", "mlp", 2), TestSpecs.Peer("c", "mlp", 3)]);
        var dml = Assert.IsType<DmlStrategy>(StrategyRegistry.Create(spec));
        Assert.Equal(new[] { "b", "c" }, dml.Configure("a", 0));
        Assert.Equal(new[] { "a", "b" }, dml.Configure("c", 7));
        Assert.True(dml.Publishes("a"));
    }

    [Fact]
    public void Dml_ExplicitTeachers_OnlyTeachersPublish()
    {
        var spec = TestSpecs.Synthetic("x", peers: [TestSpecs.Peer("student", "mlp", 1), TestSpecs.Peer("teacher", "cnn", 2)]) with
        {
            Distillation = new DistillationSpec { Teachers = new Dictionary<string, IReadOnlyList<string>> { ["student"] = ["teacher"], ["teacher"] = [] } },
        };
        var dml = StrategyRegistry.Create(spec);
        Assert.Equal(new[] { "teacher" }, dml.Configure("student", 0));
        Assert.Empty(dml.Configure("teacher", 0));
        Assert.False(dml.Publishes("student"));
        Assert.True(dml.Publishes("teacher"));
    }

    [Fact]
    public void Dml_AlphaWarmup_RampsLinearly()
    {
        var spec = TestSpecs.Synthetic("x") with { Distillation = new DistillationSpec { Alpha = 0.8, AlphaWarmupSteps = 4 } };
        var dml = Assert.IsType<DmlStrategy>(StrategyRegistry.Create(spec));
        Assert.Equal(new[] { 0.2, 0.4, 0.6, 0.8, 0.8 }, Enumerable.Range(0, 5).Select(s => Math.Round(dml.AlphaAt(s), 12)));
    }

    [Fact]
    public void Dml_NoTeacherArrived_FallsBackToCrossEntropy()
    {
        var dml = StrategyRegistry.Create(TestSpecs.Synthetic("x"));
        var plan = dml.Aggregate("a", 3, []);
        Assert.Empty(plan.Teachers);
    }

    [Fact]
    public void Dml_EnsembleAndConvexOptions_ReachThePlan()
    {
        var spec = TestSpecs.Synthetic("x") with
        {
            Distillation = new DistillationSpec { Teacher = "ensemble", Combine = "convex", Alpha = 0.5, Temperature = 3, Weights = new Dictionary<string, double> { ["b"] = 2 } },
        };
        var dml = StrategyRegistry.Create(spec);
        using var logits = Tensor.Randn(0, 2, 10);
        var plan = dml.Aggregate("a", 0, [new Exchange.TeacherLogits("b", 0, logits)]);
        Assert.Equal(TeacherForm.Ensemble, plan.Form);
        Assert.Equal(LossCombination.Convex, plan.Combination);
        Assert.Equal(new[] { 2.0 }, plan.Weights);
        Assert.Equal(3, plan.Temperature);
    }

    [Fact]
    public void UnknownStrategy_IsAnErrorNamingKnownOnes()
    {
        var spec = TestSpecs.Synthetic("x", strategy: "fedavg");
        var e = Assert.Throws<ArgumentException>(() => StrategyRegistry.Create(spec));
        Assert.Contains("unknown strategy 'fedavg' (known: dml, none, fedmd, feddf, multi-teacher)", e.Message, StringComparison.Ordinal);
    }
}
