using PeerDistill.Core.Data;
using PeerDistill.Core.Spec;
using Xunit;

namespace PeerDistill.Core.Tests.Data;

/// <summary>The three partitions: disjoint, complete, deterministic, and as skewed as they should be.</summary>
public class PartitionerTests
{
    // 10 classes, 300 images each, in a scrambled order.
    private static readonly int[] Labels = Enumerable.Range(0, 3000).Select(i => (i * 7) % 10).ToArray();

    [Theory]
    [InlineData(PartitionSpec.Iid)]
    [InlineData(PartitionSpec.Dirichlet)]
    [InlineData(PartitionSpec.Shards)]
    public void EveryKind_SplitsThePoolIntoDisjointNonEmptyParts_CoveringIt_SameForTheSameSeed(string kind)
    {
        var spec = new PartitionSpec { Kind = kind, Alpha = 0.5, ShardsPerClient = 2, Seed = 5 };
        var parts = Partitioner.Split(Labels, 10, 7, spec);

        Assert.Equal(7, parts.Length);
        Assert.All(parts, p => Assert.NotEmpty(p));
        var all = parts.SelectMany(p => p).ToList();
        Assert.Equal(Labels.Length, all.Count);
        Assert.Equal(Enumerable.Range(0, Labels.Length), all.Order());
        Assert.All(parts, p => Assert.Equal(p.Order(), p));
        Assert.Equal(parts, Partitioner.Split(Labels, 10, 7, spec));
        Assert.NotEqual(parts, Partitioner.Split(Labels, 10, 7, spec with { Seed = 6 }));
    }

    [Fact]
    public void Iid_GivesSharesThatDifferByAtMostOne()
    {
        var parts = Partitioner.Split(Labels, 10, 7, new PartitionSpec { Kind = PartitionSpec.Iid });

        Assert.InRange(parts.Max(p => p.Length) - parts.Min(p => p.Length), 0, 1);
    }

    [Fact]
    public void Dirichlet_SmallAlphaIsSkewed_LargeAlphaIsNearlyIid()
    {
        // The mean over participants of the share of its largest class: 0.1 for a perfectly even split.
        double Skew(double alpha)
        {
            var parts = Partitioner.Split(Labels, 10, 10, new PartitionSpec { Kind = PartitionSpec.Dirichlet, Alpha = alpha, Seed = 1 });
            var counts = Partitioner.ClassCounts(Labels, 10, parts);
            return counts.Average(c => c.Max() / (double)c.Sum());
        }

        var skewed = Skew(0.1);
        var even = Skew(1000);
        Assert.True(skewed > 0.5, $"alpha 0.1: largest class share {skewed:F3}");
        Assert.True(even < 0.13, $"alpha 1000: largest class share {even:F3}");
        Assert.True(Skew(0.5) < skewed && Skew(0.5) > even);
    }

    [Fact]
    public void Shards_GiveEachParticipantAtMostItsShardsClasses()
    {
        // 10 participants x 2 shards of 150 images, each shard of one class.
        var parts = Partitioner.Split(Labels, 10, 10, new PartitionSpec { Kind = PartitionSpec.Shards, ShardsPerClient = 2, Seed = 2 });

        var counts = Partitioner.ClassCounts(Labels, 10, parts);
        Assert.All(counts, c => Assert.InRange(c.Count(n => n > 0), 1, 2));
        Assert.All(parts, p => Assert.Equal(300, p.Length));
    }

    [Fact]
    public void FewerImagesThanParticipants_IsAnErrorNamingThePartition()
    {
        var e = Assert.Throws<ArgumentException>(() => Partitioner.Split(Labels.AsSpan(0, 3), 10, 4, new PartitionSpec()));

        Assert.StartsWith("data.partition: 3 private images cannot be split over 4 participants", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dirichlet_ThatCannotFeedEveryParticipant_IsAnErrorNamingAlpha()
    {
        // Ten images of one class over nine participants at a tiny alpha: nearly all go to one part, every draw.
        var labels = new int[10];

        var e = Assert.Throws<ArgumentException>(() => Partitioner.Split(labels, 2, 9, new PartitionSpec { Kind = PartitionSpec.Dirichlet, Alpha = 0.001 }));

        Assert.StartsWith("data.partition.alpha: Dirichlet(0.001) left a participant without private images", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClassCounts_CountEachPartsLabels()
    {
        int[] labels = [0, 1, 1, 2, 2, 2];

        var counts = Partitioner.ClassCounts(labels, 3, [[0, 3], [1, 2, 4, 5]]);

        Assert.Equal([1, 0, 1], counts[0]);
        Assert.Equal([0, 2, 2], counts[1]);
    }
}
