using PeerDistill.Core.Spec;
using PeerDistill.Torch.Data;

namespace PeerDistill.Core.Data;

/// <summary>
/// Splits a pool of labelled images over participants, deterministically from a seed: IID (equal
/// random shares), Dirichlet(alpha) over labels (each class's images split by proportions drawn
/// from a symmetric Dirichlet, as in Hsu et al. 2019 and Flower's DirichletPartitioner), or shards
/// (images sorted by label, cut into participants x k equal shards, k random shards each, as in
/// McMahan et al. 2017). Returns, per participant, positions into the pool in ascending order.
/// </summary>
public static class Partitioner
{
    /// <summary>How many Dirichlet draws are tried before a partition that leaves a participant empty is an error.</summary>
    public const int MaxDirichletAttempts = 100;

    /// <exception cref="ArgumentException">A participant would get no image; the message names the spec field.</exception>
    public static int[][] Split(ReadOnlySpan<int> labels, int classes, int participants, PartitionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(participants);
        if (labels.Length < participants)
        {
            throw new ArgumentException($"data.partition: {labels.Length} private images cannot be split over {participants} participants (each needs at least one)");
        }

        var parts = spec.Kind switch
        {
            PartitionSpec.Dirichlet => Dirichlet(labels, classes, participants, spec.Alpha, spec.Seed),
            PartitionSpec.Shards => Shards(labels, participants, spec.ShardsPerClient, spec.Seed),
            _ => Iid(labels.Length, participants, spec.Seed),
        };
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].Length == 0)
            {
                throw new ArgumentException($"data.partition: participant {i} gets no private images ({spec.Kind}, {labels.Length} images over {participants} participants)");
            }

            Array.Sort(parts[i]);
        }

        return parts;
    }

    /// <summary>The number of images of each class in each part: [part][class].</summary>
    public static int[][] ClassCounts(ReadOnlySpan<int> labels, int classes, IReadOnlyList<int[]> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var counts = new int[parts.Count][];
        for (var i = 0; i < parts.Count; i++)
        {
            counts[i] = new int[classes];
            foreach (var position in parts[i])
            {
                counts[i][labels[position]]++;
            }
        }

        return counts;
    }

    private static int[][] Iid(int count, int participants, long seed)
    {
        var order = Permutation(count, new DeterministicRandom(DeterministicRandom.Mix(seed, 11)));
        return Cut(order, participants);
    }

    private static int[][] Dirichlet(ReadOnlySpan<int> labels, int classes, int participants, double alpha, long seed)
    {
        var random = new DeterministicRandom(DeterministicRandom.Mix(seed, 12));
        var byClass = new List<int>[classes];
        for (var c = 0; c < classes; c++)
        {
            byClass[c] = [];
        }

        for (var i = 0; i < labels.Length; i++)
        {
            byClass[labels[i]].Add(i);
        }

        var shuffled = byClass.Select(list =>
        {
            var array = list.ToArray();
            random.Shuffle(array.AsSpan());
            return array;
        }).ToArray();
        for (var attempt = 0; attempt < MaxDirichletAttempts; attempt++)
        {
            var parts = Enumerable.Range(0, participants).Select(_ => new List<int>()).ToArray();
            foreach (var members in shuffled)
            {
                var proportions = DrawDirichlet(random, participants, alpha);
                var start = 0;
                var cumulative = 0.0;
                for (var p = 0; p < participants; p++)
                {
                    cumulative += proportions[p];
                    var end = p == participants - 1 ? members.Length : (int)Math.Round(cumulative * members.Length);
                    end = Math.Clamp(end, start, members.Length);
                    parts[p].AddRange(members.AsSpan(start, end - start).ToArray());
                    start = end;
                }
            }

            if (parts.All(p => p.Count > 0))
            {
                return parts.Select(p => p.ToArray()).ToArray();
            }
        }

        throw new ArgumentException(
            $"data.partition.alpha: Dirichlet({alpha}) left a participant without private images in {MaxDirichletAttempts} draws ({labels.Length} images over {participants} participants); use a larger alpha or fewer participants");
    }

    private static int[][] Shards(ReadOnlySpan<int> labels, int participants, int shardsPerClient, long seed)
    {
        var random = new DeterministicRandom(DeterministicRandom.Mix(seed, 13));
        var order = Permutation(labels.Length, random);
        var labelsCopy = labels.ToArray();
        // Sorted by label; within a label, in the random order (OrderBy is stable).
        var sorted = order.OrderBy(i => labelsCopy[i]).ToArray();
        var shardCount = participants * shardsPerClient;
        if (sorted.Length < shardCount)
        {
            throw new ArgumentException($"data.partition.shards_per_client: {participants} x {shardsPerClient} shards need at least {shardCount} private images, there are {sorted.Length}");
        }

        var shards = Cut(sorted, shardCount);
        var shardOrder = Permutation(shardCount, random);
        return Enumerable.Range(0, participants)
            .Select(p => shardOrder.Skip(p * shardsPerClient).Take(shardsPerClient).SelectMany(s => shards[s]).ToArray())
            .ToArray();
    }

    /// <summary>Cuts <paramref name="items"/> into <paramref name="parts"/> contiguous parts whose sizes differ by at most one.</summary>
    private static int[][] Cut(int[] items, int parts)
    {
        var result = new int[parts][];
        for (var p = 0; p < parts; p++)
        {
            var start = (int)((long)items.Length * p / parts);
            var end = (int)((long)items.Length * (p + 1) / parts);
            result[p] = items[start..end];
        }

        return result;
    }

    private static int[] Permutation(int count, DeterministicRandom random)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        random.Shuffle(order.AsSpan());
        return order;
    }

    /// <summary>A draw of the symmetric Dirichlet(alpha) over <paramref name="n"/> parts: normalised Gamma(alpha, 1) draws.</summary>
    private static double[] DrawDirichlet(DeterministicRandom random, int n, double alpha)
    {
        var draws = new double[n];
        var sum = 0.0;
        for (var i = 0; i < n; i++)
        {
            draws[i] = Gamma(random, alpha);
            sum += draws[i];
        }

        if (sum <= 0)
        {
            // Every draw underflowed (tiny alpha): all of the class goes to one part, chosen at random.
            Array.Clear(draws);
            draws[random.NextInt(n)] = 1;
            return draws;
        }

        for (var i = 0; i < n; i++)
        {
            draws[i] /= sum;
        }

        return draws;
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang (2000); for shape &lt; 1, Gamma(shape + 1) * U^(1/shape).</summary>
    private static double Gamma(DeterministicRandom random, double shape)
    {
        if (shape < 1)
        {
            var u = random.NextDouble();
            return Gamma(random, shape + 1) * Math.Pow(u, 1.0 / shape);
        }

        var d = shape - (1.0 / 3.0);
        var c = 1.0 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = random.NextGaussian();
                v = 1 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            var u = random.NextDouble();
            if (u < 1 - (0.0331 * x * x * x * x) || Math.Log(u) < (0.5 * x * x) + (d * (1 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }
}
