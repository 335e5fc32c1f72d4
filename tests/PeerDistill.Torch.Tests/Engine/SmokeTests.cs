using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

public class SmokeTests
{
    [Fact]
    public void CnnStep_ReducesLossOnFixedBatch()
    {
        TorchRuntime.SetNumThreads(1);
        using var model = Model.Create("cnn", new InputShape(1, 28, 28), 10, seed: 1);
        using var optimizer = Optimizer.Create(model, new OptimizerOptions { LearningRate = 0.05, Momentum = 0.9 });
        using var x = Tensor.Randn(3, 16, 1, 28, 28);
        using var y = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (long)(i % 10)).ToArray(), 16);
        double first = 0, last = 0;
        for (var i = 0; i < 20; i++)
        {
            optimizer.ZeroGrad();
            using var logits = model.Forward(x);
            using var loss = DistillationLoss.CrossEntropy(logits, y);
            loss.Total.Backward();
            optimizer.Step();
            if (i == 0) first = loss.Total.Item();
            last = loss.Total.Item();
        }

        Assert.True(last < first * 0.5, $"loss went from {first} to {last}");
    }
}
