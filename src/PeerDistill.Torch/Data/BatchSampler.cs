namespace PeerDistill.Torch.Data;

/// <summary>
/// Splits each epoch of a data set into batches of indices. The order of an epoch depends only on
/// (seed, epoch), so every peer with the same seed sees the same batches at the same step, and a
/// resumed run continues exactly where it stopped. Thread-safe.
/// </summary>
public sealed class BatchSampler
{
    /// <summary>How many recent epoch orders are kept, so peers straddling an epoch boundary do not recompute them.</summary>
    private const int CachedEpochs = 4;

    private readonly Lock _cacheLock = new();
    private readonly (int Epoch, int[] Order)?[] _cache = new (int, int[])?[CachedEpochs];
    private int _nextSlot;

    /// <summary>Creates a sampler over indices 0..<paramref name="datasetCount"/>-1.</summary>
    /// <param name="datasetCount">Number of samples in the data set.</param>
    /// <param name="batchSize">Samples per batch (the last batch of an epoch may be smaller unless <paramref name="dropLast"/>).</param>
    /// <param name="seed">Seed of the shuffles.</param>
    /// <param name="shuffle">False to visit samples in index order every epoch.</param>
    /// <param name="dropLast">True to skip the last, incomplete batch of each epoch.</param>
    public BatchSampler(int datasetCount, int batchSize, long seed, bool shuffle = true, bool dropLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(datasetCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (dropLast && batchSize > datasetCount)
        {
            throw new ArgumentException(
                $"batch size {batchSize} exceeds the {datasetCount} samples, so dropping the last batch leaves none", nameof(batchSize));
        }

        DatasetCount = datasetCount;
        BatchSize = batchSize;
        Seed = seed;
        Shuffle = shuffle;
        DropLast = dropLast;
        BatchesPerEpoch = dropLast ? datasetCount / batchSize : (datasetCount + batchSize - 1) / batchSize;
    }

    /// <summary>Number of samples in the data set.</summary>
    public int DatasetCount { get; }

    /// <summary>Samples per full batch.</summary>
    public int BatchSize { get; }

    /// <summary>Seed of the shuffles.</summary>
    public long Seed { get; }

    /// <summary>Whether epochs are shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether the last, incomplete batch of each epoch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Number of batches in one epoch.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>
    /// The order in which epoch <paramref name="epoch"/> visits the samples: a permutation of
    /// 0..DatasetCount-1 (Fisher-Yates seeded by Mix(seed, epoch)), or the identity without shuffling.
    /// Returns a fresh copy the caller may change.
    /// </summary>
    public int[] EpochOrder(int epoch) => (int[])Order(epoch).Clone();

    /// <summary>The sample indices of batch <paramref name="batchIndex"/> of epoch <paramref name="epoch"/>.</summary>
    public ReadOnlySpan<int> Batch(int epoch, int batchIndex)
    {
        if ((uint)batchIndex >= (uint)BatchesPerEpoch)
        {
            throw new ArgumentOutOfRangeException(nameof(batchIndex), batchIndex, $"an epoch has {BatchesPerEpoch} batches");
        }

        var start = batchIndex * BatchSize;
        return Order(epoch).AsSpan(start, Math.Min(BatchSize, DatasetCount - start));
    }

    /// <summary>The sample indices of the batch trained at <paramref name="globalStep"/> (see <see cref="Locate"/>).</summary>
    public ReadOnlySpan<int> Batch(long globalStep)
    {
        var (epoch, batchIndex) = Locate(globalStep);
        return Batch(epoch, batchIndex);
    }

    /// <summary>Maps a step counter that runs across epochs (0, 1, 2, ...) to its epoch and batch within that epoch.</summary>
    public (int Epoch, int BatchIndex) Locate(long globalStep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(globalStep);
        var epoch = Math.DivRem(globalStep, BatchesPerEpoch, out var batchIndex);
        if (epoch > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(globalStep), globalStep, "step lies beyond the last representable epoch");
        }

        return ((int)epoch, (int)batchIndex);
    }

    /// <summary>The shared (never modified) order of <paramref name="epoch"/>, computed once per epoch while it stays cached.</summary>
    private int[] Order(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        lock (_cacheLock)
        {
            foreach (var entry in _cache)
            {
                if (entry is { } cached && cached.Epoch == epoch)
                {
                    return cached.Order;
                }
            }

            var order = new int[DatasetCount];
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            if (Shuffle)
            {
                new DeterministicRandom(DeterministicRandom.Mix(Seed, epoch)).Shuffle(order.AsSpan());
            }

            _cache[_nextSlot] = (epoch, order);
            _nextSlot = (_nextSlot + 1) % CachedEpochs;
            return order;
        }
    }
}
