namespace PeerDistill.Torch.Data;

/// <summary>
/// A xoshiro256** generator seeded through SplitMix64. Its output for a given seed is fixed by
/// this code on every platform and runtime, so peers that share a seed draw the same numbers
/// (unlike <see cref="Random"/>, whose seeded sequence is not a documented contract).
/// Not thread-safe: give each thread its own instance.
/// </summary>
public sealed class DeterministicRandom
{
    private const ulong GoldenGamma = 0x9E3779B97F4A7C15UL;

    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;
    private double? _spareGaussian;

    /// <summary>Creates a generator whose sequence depends only on <paramref name="seed"/>.</summary>
    public DeterministicRandom(long seed)
    {
        var state = (ulong)seed;
        _s0 = SplitMix64(ref state);
        _s1 = SplitMix64(ref state);
        _s2 = SplitMix64(ref state);
        _s3 = SplitMix64(ref state);
    }

    /// <summary>
    /// Derives one seed from several values (a base seed, an epoch, a batch index, ...). The result
    /// depends on every part and on their order.
    /// </summary>
    public static long Mix(params ReadOnlySpan<long> parts)
    {
        var hash = Scramble((ulong)parts.Length);
        foreach (var part in parts)
        {
            hash = Scramble(hash + GoldenGamma + (ulong)part);
        }

        return (long)hash;
    }

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);

        // Lemire's multiply-and-reject: the high half of x * range is uniform once the low half
        // clears the threshold 2^64 mod range.
        var range = (ulong)maxExclusive;
        var high = Math.BigMul(NextUInt64(), range, out var low);
        if (low < range)
        {
            var threshold = (0UL - range) % range;
            while (low < threshold)
            {
                high = Math.BigMul(NextUInt64(), range, out low);
            }
        }

        return (int)high;
    }

    /// <summary>
    /// A standard normal value (Box-Muller; values come in pairs, the second is kept for the next
    /// call). It goes through Math.Log, Math.Sin and Math.Cos, which may differ in the last bit
    /// between platforms; the integer and uniform draws are exact everywhere.
    /// </summary>
    public double NextGaussian()
    {
        if (_spareGaussian is { } spare)
        {
            _spareGaussian = null;
            return spare;
        }

        var radius = Math.Sqrt(-2.0 * Math.Log(1.0 - NextDouble()));
        var angle = 2.0 * Math.PI * NextDouble();
        _spareGaussian = radius * Math.Sin(angle);
        return radius * Math.Cos(angle);
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher-Yates): every order is equally likely.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong SplitMix64(ref ulong state)
    {
        state += GoldenGamma;
        return Scramble(state);
    }

    private static ulong Scramble(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
