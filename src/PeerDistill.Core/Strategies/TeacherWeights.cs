namespace PeerDistill.Core.Strategies;

/// <summary>
/// The per-sample teacher weights of multi-teacher distillation, in double from the teachers'
/// logits (each [batch, classes], row-major). Every row of a result sums to 1 over the teachers.
/// </summary>
public static class TeacherWeights
{
    /// <summary>
    /// Entropy-based weights (after Kwon et al. 2020, "Adaptive Knowledge Distillation Based on
    /// Entropy"): with H_bk the entropy of softmax(z_bk), teacher k's prediction on sample b,
    /// w_bk = exp(-H_bk / tau) / sum_j exp(-H_bj / tau): a more confident teacher weighs more.
    /// Returns [batch, teachers] row-major.
    /// </summary>
    public static double[] Entropy(IReadOnlyList<float[]> teachers, int batch, int classes, double tau)
    {
        var k = Check(teachers, batch, classes, tau);
        var scores = new double[batch * k];
        for (var t = 0; t < k; t++)
        {
            for (var b = 0; b < batch; b++)
            {
                var logProbabilities = LogSoftmax(teachers[t].AsSpan(b * classes, classes));
                var entropy = 0.0;
                foreach (var lp in logProbabilities)
                {
                    entropy -= Math.Exp(lp) * lp;
                }

                scores[(b * k) + t] = -entropy / tau;
            }
        }

        SoftmaxRows(scores, batch, k);
        return scores;
    }

    /// <summary>
    /// Correctness-based weights of CA-MKD (Zhang, Chen and Wang, ICASSP 2022, "Confidence-Aware
    /// Multi-Teacher Knowledge Distillation"): with CE_bk = -log softmax(z_bk)[y_b],
    /// w_bk = (1 - exp(CE_bk / tau) / sum_j exp(CE_bj / tau)) / (K - 1): a teacher nearer the label
    /// weighs more (tau = 1 is the paper's form); one teacher gets weight 1. Returns [batch, teachers].
    /// </summary>
    public static double[] Correctness(IReadOnlyList<float[]> teachers, IReadOnlyList<long> labels, int classes, double tau)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var batch = labels.Count;
        var k = Check(teachers, batch, classes, tau);
        var weights = new double[batch * k];
        if (k == 1)
        {
            Array.Fill(weights, 1.0);
            return weights;
        }

        for (var b = 0; b < batch; b++)
        {
            var label = labels[b];
            if (label < 0 || label >= classes)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), $"label {label} of sample {b} is not a class of {classes}");
            }

            for (var t = 0; t < k; t++)
            {
                weights[(b * k) + t] = -LogSoftmax(teachers[t].AsSpan(b * classes, classes))[(int)label] / tau;
            }
        }

        SoftmaxRows(weights, batch, k);
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = (1 - weights[i]) / (k - 1);
        }

        return weights;
    }

    /// <summary>Per-teacher weights normalized to sum 1 (all zero: equal weights).</summary>
    public static double[] Normalize(IReadOnlyList<double> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var sum = weights.Sum();
        return sum > 0 ? [.. weights.Select(w => w / sum)] : [.. weights.Select(_ => 1.0 / weights.Count)];
    }

    /// <summary>The mean over the batch of each teacher's weight, from [batch, teachers] row-major weights.</summary>
    public static double[] ColumnMeans(double[] weights, int batch, int teachers)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var means = new double[teachers];
        for (var b = 0; b < batch; b++)
        {
            for (var t = 0; t < teachers; t++)
            {
                means[t] += weights[(b * teachers) + t];
            }
        }

        for (var t = 0; t < teachers; t++)
        {
            means[t] /= batch;
        }

        return means;
    }

    private static int Check(IReadOnlyList<float[]> teachers, int batch, int classes, double tau)
    {
        ArgumentNullException.ThrowIfNull(teachers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (!(tau > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(tau), $"the weighting temperature must be positive, got {tau}");
        }

        if (teachers.Count == 0)
        {
            throw new ArgumentException("no teachers", nameof(teachers));
        }

        foreach (var t in teachers)
        {
            if (t.Length != batch * classes)
            {
                throw new ArgumentException($"teacher logits hold {t.Length} values, expected {batch} x {classes}", nameof(teachers));
            }
        }

        return teachers.Count;
    }

    private static double[] LogSoftmax(ReadOnlySpan<float> z)
    {
        var log = Exchange.RowMath.LogSumExp(z);
        var result = new double[z.Length];
        for (var i = 0; i < z.Length; i++)
        {
            result[i] = z[i] - log;
        }

        return result;
    }

    /// <summary>Softmax of each row of a [rows, columns] row-major array, in place.</summary>
    private static void SoftmaxRows(double[] values, int rows, int columns)
    {
        for (var r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * columns, columns);
            var max = double.NegativeInfinity;
            foreach (var v in row)
            {
                max = Math.Max(max, v);
            }

            var sum = 0.0;
            for (var c = 0; c < columns; c++)
            {
                row[c] = Math.Exp(row[c] - max);
                sum += row[c];
            }

            for (var c = 0; c < columns; c++)
            {
                row[c] /= sum;
            }
        }
    }
}
