using PeerDistill.Torch.Data;
using Xunit;

namespace PeerDistill.Torch.Tests.Data;

public sealed class BatchSamplerTests
{
    [Fact]
    public void EpochOrder_SameSeedAndEpoch_SameOrderAcrossInstances()
    {
        var a = new BatchSampler(1000, 32, seed: 7);
        var b = new BatchSampler(1000, 32, seed: 7);

        Assert.Equal(a.EpochOrder(3), b.EpochOrder(3));
        Assert.Equal(a.Batch(3, 5).ToArray(), b.Batch(3, 5).ToArray());
    }

    [Fact]
    public void EpochOrder_DifferentEpochOrSeed_DifferentOrder()
    {
        var sampler = new BatchSampler(1000, 32, seed: 7);

        Assert.NotEqual(sampler.EpochOrder(0), sampler.EpochOrder(1));
        Assert.NotEqual(sampler.EpochOrder(0), new BatchSampler(1000, 32, seed: 8).EpochOrder(0));
    }

    [Fact]
    public void EpochOrder_AnyEpoch_IsPermutation()
    {
        var sampler = new BatchSampler(257, 16, seed: 1);

        for (var epoch = 0; epoch < 6; epoch++)
        {
            var order = sampler.EpochOrder(epoch);
            Array.Sort(order);
            Assert.Equal(Enumerable.Range(0, 257), order);
        }
    }

    [Fact]
    public void Batches_OneEpoch_CoverEveryIndexOnce()
    {
        var sampler = new BatchSampler(100, 32, seed: 3);
        var seen = new List<int>();

        for (var b = 0; b < sampler.BatchesPerEpoch; b++)
        {
            seen.AddRange(sampler.Batch(2, b).ToArray());
        }

        Assert.Equal(4, sampler.BatchesPerEpoch);
        Assert.Equal(4, sampler.Batch(2, 3).Length);
        Assert.Equal(Enumerable.Range(0, 100), seen.Order());
    }

    [Fact]
    public void Batches_DropLast_SkipsIncompleteBatch()
    {
        var sampler = new BatchSampler(100, 32, seed: 3, dropLast: true);

        Assert.Equal(3, sampler.BatchesPerEpoch);
        Assert.Equal(32, sampler.Batch(0, 2).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Batch(0, 3).ToArray());
        Assert.Throws<ArgumentException>(() => new BatchSampler(10, 32, seed: 3, dropLast: true));
    }

    [Fact]
    public void EpochOrder_NoShuffle_Identity()
    {
        var sampler = new BatchSampler(10, 4, seed: 3, shuffle: false);

        Assert.Equal(Enumerable.Range(0, 10), sampler.EpochOrder(5));
        Assert.Equal([8, 9], sampler.Batch(5, 2).ToArray());
    }

    [Fact]
    public void EpochOrder_CallerChangesCopy_CacheUnaffected()
    {
        var sampler = new BatchSampler(50, 10, seed: 3);
        var expected = sampler.EpochOrder(0);

        sampler.EpochOrder(0)[0] = -1;

        Assert.Equal(expected, sampler.EpochOrder(0));
    }

    [Theory]
    [InlineData(0L, 0, 0)]
    [InlineData(3L, 0, 3)]
    [InlineData(4L, 1, 0)]
    [InlineData(41L, 10, 1)]
    public void Locate_GlobalStep_MapsToEpochAndBatch(long step, int epoch, int batch)
    {
        var sampler = new BatchSampler(100, 25, seed: 0);

        Assert.Equal((epoch, batch), sampler.Locate(step));
        Assert.Equal(sampler.Batch(epoch, batch).ToArray(), sampler.Batch(step).ToArray());
    }

    [Fact]
    public void Batch_ConcurrentPeersAcrossEpochs_AgreeWithSequentialOrder()
    {
        var shared = new BatchSampler(5000, 64, seed: 11);
        var reference = new BatchSampler(5000, 64, seed: 11);
        var expected = Enumerable.Range(0, 8).Select(reference.EpochOrder).ToArray();

        Parallel.For(0, 64, worker =>
        {
            for (var i = 0; i < 200; i++)
            {
                var epoch = (worker + i) % 8;
                var batch = i % shared.BatchesPerEpoch;
                var indices = shared.Batch(epoch, batch).ToArray();
                Assert.Equal(expected[epoch].AsSpan(batch * 64, indices.Length).ToArray(), indices);
            }
        });
    }
}
