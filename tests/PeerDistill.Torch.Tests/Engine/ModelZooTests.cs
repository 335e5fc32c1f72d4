using PeerDistill.Torch.Tests.Support;
using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

public class ModelZooTests
{
    public static TheoryData<string, int, int, long> Models() => new()
    {
        // name, channels, size, parameter count (computed from the architectures' definitions)
        { "mlp", 1, 28, (784 * 512) + 512 + (512 * 256) + 256 + (256 * 10) + 10 },
        { "cnn", 1, 28, (32 * 9) + 32 + (64 * 32 * 9) + 64 + (3136 * 128) + 128 + (128 * 10) + 10 },
        { "cnn", 3, 32, (32 * 27) + 32 + (64 * 32 * 9) + 64 + (4096 * 128) + 128 + (128 * 10) + 10 },
        { "resnet8", 3, 32, -1 },
        { "resnet20", 3, 32, -1 },
        { "resnet32", 1, 28, -1 },
        { "mobilenetv2", 1, 28, -1 },
        { "mobilenetv2", 3, 32, -1 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void ZooModel_ForwardGivesLogitsPerClassInBothModes(string name, int channels, int size, long parameters)
    {
        using var model = Model.Create(name, new InputShape(channels, size, size), 10, seed: 1);
        if (parameters > 0)
        {
            Assert.Equal(parameters, model.ParameterCount);
        }

        using var x = Tensor.Randn(2, 4, channels, size, size);
        using (var train = model.Forward(x))
        {
            Assert.Equal(new long[] { 4, 10 }, train.Shape);
        }

        model.Eval();
        Assert.False(model.IsTraining);
        using var eval = model.Predict(x);
        Assert.Equal(new long[] { 4, 10 }, eval.Shape);
        Assert.False(eval.RequiresGrad);
    }

    [Fact]
    public void ResNetDepths_HaveTheExpectedParameterCounts()
    {
        // CIFAR ResNet-20 has about 0.27M parameters (He et al. 2016); ours uses projection
        // shortcuts (two 1x1 convs + BN), which adds 0.003M.
        using var r20 = Model.Create("resnet20", new InputShape(3, 32, 32), 10, seed: 0);
        using var r32 = Model.Create("resnet32", new InputShape(3, 32, 32), 10, seed: 0);
        using var r8 = Model.Create("resnet8", new InputShape(3, 32, 32), 10, seed: 0);
        Assert.InRange(r20.ParameterCount, 270_000, 280_000);
        Assert.InRange(r32.ParameterCount, 465_000, 475_000);
        Assert.True(r8.ParameterCount < r20.ParameterCount);
        using var wide = Model.Create("resnet20", new InputShape(3, 32, 32), 10, seed: 0, options: new Dictionary<string, string> { ["width"] = "2" });
        Assert.InRange(wide.ParameterCount, 3.8 * r20.ParameterCount, 4.1 * r20.ParameterCount);
    }

    [Theory]
    [InlineData("mlp", "widths", "65536,65536", "more than 50000000 parameters")]
    [InlineData("mlp", "widths", "70000", "must list integers in [1, 65536], got 70000")]
    [InlineData("mlp", "widths", "8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8", "at most 16 integers, got 17")]
    [InlineData("cnn", "hidden", "65536", "more than 50000000 parameters")]
    [InlineData("resnet32", "width", "16", "more than 50000000 parameters")]
    public void OptionsAskingForAHugeModel_RefusedBeforeAllocating(string name, string option, string value, string expected)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<TorchException>(() => Model.Create(name, new InputShape(1, 28, 28), 10, seed: 0, options: new Dictionary<string, string> { [option] = value }));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public void SameSeed_GivesIdenticalWeights_OtherSeedDifferent()
    {
        using var a = Model.Create("resnet8", TinyTraining.Shape, 10, seed: 5);
        using var b = Model.Create("resnet8", TinyTraining.Shape, 10, seed: 5);
        using var c = Model.Create("resnet8", TinyTraining.Shape, 10, seed: 6);
        TinyTraining.AssertBitwiseEqual(TinyTraining.Snapshot(a), TinyTraining.Snapshot(b));
        Assert.NotEqual(TinyTraining.Snapshot(a)["conv1.weight"], TinyTraining.Snapshot(c)["conv1.weight"]);
    }

    [Fact]
    public void Dropout_MakesTheModelStochasticAndEvalDeterministic()
    {
        using var model = Model.Create("mlp", TinyTraining.Shape, 10, seed: 5, options: new Dictionary<string, string> { ["dropout"] = "0.5" });
        Assert.True(model.IsStochastic);
        using var x = Tensor.Randn(1, 4, 1, 28, 28);
        using var t1 = model.Forward(x);
        using var t2 = model.Forward(x);
        Assert.False(Tensor.Equal(t1, t2));
        model.Eval();
        using var e1 = model.Predict(x);
        using var e2 = model.Predict(x);
        Assert.True(Tensor.Equal(e1, e2));
        using var plain = Model.Create("cnn", TinyTraining.Shape, 10, seed: 5);
        Assert.False(plain.IsStochastic);
    }

    [Fact]
    public void ConcurrentTraining_OnSeparateThreads_MatchesSequential()
    {
        // Each peer's numbers must not depend on what other threads do, dropout included.
        var options = new Dictionary<string, string> { ["dropout"] = "0.2" };
        Dictionary<string, float[]> Train(long seed)
        {
            TorchRuntime.SetNumThreads(1);
            using var m = Model.Create("mlp", TinyTraining.Shape, 10, seed, options: options);
            using var o = Optimizer.Create(m, new OptimizerOptions { LearningRate = 0.05, Momentum = 0.9 });
            TinyTraining.Run(m, o, 0, 10, batch: 8);
            return TinyTraining.Snapshot(m);
        }

        var sequential = new[] { Train(1), Train(2) };
        var concurrent = new Dictionary<string, float[]>[2];
        var threads = Enumerable.Range(0, 2).Select(i => new Thread(() => concurrent[i] = Train(i + 1))).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        TinyTraining.AssertBitwiseEqual(sequential[0], concurrent[0]);
        TinyTraining.AssertBitwiseEqual(sequential[1], concurrent[1]);
    }

    [Fact]
    public void SetNumThreads_AppliesToTheCallingThread()
    {
        var seen = new int[2];
        var t1 = new Thread(() => { TorchRuntime.SetNumThreads(2); seen[0] = TorchRuntime.NumThreads; });
        t1.Start();
        t1.Join();
        var t2 = new Thread(() => { TorchRuntime.SetNumThreads(1); seen[1] = TorchRuntime.NumThreads; });
        t2.Start();
        t2.Join();
        Assert.Equal(new[] { 2, 1 }, seen);
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.SetNumThreads(0));
    }
}
