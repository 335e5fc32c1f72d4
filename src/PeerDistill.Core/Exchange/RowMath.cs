namespace PeerDistill.Core.Exchange;

/// <summary>Row arithmetic on logits in double, shared by the top-k wire form and the per-sample teacher weights.</summary>
internal static class RowMath
{
    /// <summary>log(sum_c exp(z_c)) of one row, shifted by its maximum, in double.</summary>
    public static double LogSumExp(ReadOnlySpan<float> row)
    {
        var max = double.NegativeInfinity;
        foreach (var z in row)
        {
            max = Math.Max(max, z);
        }

        var sum = 0.0;
        foreach (var z in row)
        {
            sum += Math.Exp(z - max);
        }

        return max + Math.Log(sum);
    }
}
