using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

/// <summary>Native objects are released with their managed owners: no growth under create/dispose loops.</summary>
[Collection(nameof(MemorySensitive))]
public class HandleLifetimeTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void TensorCreateDisposeLoop_KeepsResidentMemoryBounded()
    {
        var data = new float[1 << 18]; // 1 MiB of float32
        Warm(() => { using var t = Tensor.FromArray(data, data.Length); });
        var before = TorchRuntime.ResidentBytes;
        for (var i = 0; i < 3000; i++)
        {
            using var t = Tensor.FromArray(data, data.Length);
            using var u = t.Mul(2.0);
        }

        var growth = TorchRuntime.ResidentBytes - before;
        // 3000 iterations allocate ~6 GiB in total; a leak of even one tensor per iteration would show as GiBs.
        Assert.True(growth < 64 * MiB, $"resident memory grew by {growth / MiB} MiB over 3000 tensor pairs");
    }

    [Fact]
    public void ModelAndOptimizerLoop_KeepsResidentMemoryBounded()
    {
        var shape = new InputShape(1, 28, 28);
        Warm(() =>
        {
            using var m = Model.Create("cnn", shape, 10, seed: 1);
            using var o = Optimizer.Create(m, new OptimizerOptions { Kind = OptimizerKind.Adam, LearningRate = 1e-3 });
        });
        var before = TorchRuntime.ResidentBytes;
        for (var i = 0; i < 150; i++)
        {
            // cnn: 421k parameters, ~1.6 MiB of weights, plus Adam's two moment buffers after a step.
            using var m = Model.Create("cnn", shape, 10, seed: i);
            using var o = Optimizer.Create(m, new OptimizerOptions { Kind = OptimizerKind.Adam, LearningRate = 1e-3 });
            using var x = Tensor.Randn(i, 2, 1, 28, 28);
            using var y = Tensor.FromArray(new long[] { 0, 1 }, 2);
            using var logits = m.Forward(x);
            using var loss = DistillationLoss.CrossEntropy(logits, y);
            loss.Total.Backward();
            o.Step();
        }

        var growth = TorchRuntime.ResidentBytes - before;
        Assert.True(growth < 96 * MiB, $"resident memory grew by {growth / MiB} MiB over 150 model+optimizer lifetimes (~5 MiB each)");
    }

    [Fact]
    public void UndisposedTensors_AreReleasedByFinalizers()
    {
        var data = new float[1 << 18];
        long afterFirstRounds = 0;
        for (var round = 0; round < 12; round++)
        {
            for (var i = 0; i < 200; i++)
            {
                _ = Tensor.FromArray(data, data.Length); // 1 MiB each, never disposed
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            if (round == 1)
            {
                // The allocator keeps the first rounds' peak; a leak would add 200 MiB per round after it.
                afterFirstRounds = TorchRuntime.ResidentBytes;
            }
        }

        var growth = TorchRuntime.ResidentBytes - afterFirstRounds;
        Assert.True(growth < 64 * MiB, $"resident memory grew by {growth / MiB} MiB over 10 rounds of 200 dropped 1 MiB tensors");
    }

    [Fact]
    public void WrappedArray_IsUnpinnedWhenTensorIsReleased()
    {
        var data = new float[] { 1, 2, 3, 4 };
        var weak = WrapAndDrop(data);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.IsAlive, "the wrapped array stayed pinned after the tensor was disposed");

        static WeakReference WrapAndDrop(float[] source)
        {
            var copy = (float[])source.Clone();
            using (var t = Tensor.Wrap(copy, 2, 2))
            {
                copy[0] = 42;
                Assert.Equal(42f, t.ToFloatArray()[0]); // zero-copy: the write shows in the tensor
            }

            return new WeakReference(copy);
        }
    }

    private static void Warm(Action action)
    {
        for (var i = 0; i < 20; i++)
        {
            action();
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}

/// <summary>Tests that measure process memory run alone, not beside other tests.</summary>
[CollectionDefinition(nameof(MemorySensitive), DisableParallelization = true)]
public sealed class MemorySensitive
{
}
