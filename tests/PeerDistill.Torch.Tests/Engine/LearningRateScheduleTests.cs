using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

public class LearningRateScheduleTests
{
    [Fact]
    public void Constant_WithWarmup_RampsLinearlyThenHolds()
    {
        var s = new LearningRateSchedule { BaseLearningRate = 0.1, WarmupSteps = 4, TotalSteps = 100 };
        Assert.Equal(new[] { 0.025, 0.05, 0.075, 0.1, 0.1, 0.1 }, Enumerable.Range(0, 6).Select(i => Math.Round(s.At(i), 12)));
    }

    [Fact]
    public void Step_DecaysByGammaEveryStepSize()
    {
        var s = new LearningRateSchedule { Kind = ScheduleKind.Step, BaseLearningRate = 1.0, StepSize = 10, Gamma = 0.5 };
        Assert.Equal(1.0, s.At(9));
        Assert.Equal(0.5, s.At(10));
        Assert.Equal(0.25, s.At(25));
    }

    [Fact]
    public void Cosine_GoesFromBaseToMinimumOverTheRun()
    {
        var s = new LearningRateSchedule { Kind = ScheduleKind.Cosine, BaseLearningRate = 0.1, MinLearningRate = 0.001, TotalSteps = 110, WarmupSteps = 10 };
        Assert.Equal(0.1, s.At(10), 12);
        Assert.Equal(0.0505, s.At(60), 12); // half way: the mean of base and minimum
        Assert.Equal(0.001, s.At(110), 12);
        Assert.Equal(0.001, s.At(500), 12);  // past the end it stays at the minimum
        Assert.True(s.At(30) > s.At(40));
    }

    [Fact]
    public void NegativeStep_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new LearningRateSchedule().At(-1));

    [Fact]
    public void Optimizer_TakesTheScheduledRate()
    {
        using var model = Model.Create("mlp", new InputShape(1, 4, 4), 2, seed: 0);
        using var optimizer = Optimizer.Create(model, new OptimizerOptions { Kind = OptimizerKind.AdamW, LearningRate = 0.01 });
        optimizer.LearningRate = 0.0042;
        Assert.Equal(0.0042, optimizer.LearningRate);
        Assert.Throws<TorchException>(() => optimizer.LearningRate = -1);
    }
}
