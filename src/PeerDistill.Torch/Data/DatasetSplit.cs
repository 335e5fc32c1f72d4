namespace PeerDistill.Torch.Data;

/// <summary>Deterministic random partitions and subsets of a data set.</summary>
public static class DatasetSplit
{
    /// <summary>
    /// Splits <paramref name="data"/> into disjoint training and validation parts; the validation
    /// part holds round(Count * <paramref name="validationFraction"/>) random samples. Both keep the
    /// original sample order. Not stratified.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Either part would be empty.</exception>
    public static (InMemoryDataset Train, InMemoryDataset Validation) Split(InMemoryDataset data, double validationFraction, long seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!(validationFraction > 0 && validationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "must lie strictly between 0 and 1");
        }

        var validationCount = (int)Math.Round(data.Count * validationFraction);
        if (validationCount == 0 || validationCount == data.Count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(validationFraction), validationFraction, $"leaves an empty part of data set '{data.Name}' ({data.Count} samples)");
        }

        var order = Permutation(data.Count, DeterministicRandom.Mix(seed, data.Count, 1));
        var validation = order[..validationCount];
        var train = order[validationCount..];
        Array.Sort(validation);
        Array.Sort(train);
        return (data.Subset(train, $"{data.Name}/train"), data.Subset(validation, $"{data.Name}/validation"));
    }

    /// <summary>A uniformly random subset of <paramref name="count"/> samples, in their original order.</summary>
    public static InMemoryDataset Take(InMemoryDataset data, int count, long seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, data.Count);
        var chosen = Permutation(data.Count, DeterministicRandom.Mix(seed, data.Count, 2))[..count];
        Array.Sort(chosen);
        return data.Subset(chosen, $"{data.Name}[{count}]");
    }

    private static int[] Permutation(int count, long seed)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        new DeterministicRandom(seed).Shuffle(order.AsSpan());
        return order;
    }
}
