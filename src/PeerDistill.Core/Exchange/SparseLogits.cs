namespace PeerDistill.Core.Exchange;

/// <summary>
/// Top-k sparse logits, the one implementation both exchanges use (in memory and over gRPC), so
/// that a peer distils from the same numbers wherever its teachers run.
/// <para>
/// <see cref="Select"/> (sender): for each row z of a [rows, C] logits matrix, the log-probabilities
/// at T = 1, log p_c = z_c - logsumexp(z) (in double, then rounded to float), of its k most likely
/// classes, in descending order (ties: the lower class first), and those classes.
/// </para>
/// <para>
/// <see cref="Densify"/> (receiver): a dense [rows, C] matrix of log-probabilities at T = 1 that the
/// loss then softens by T like any logits (softmax ignores a row's shift, so log-probabilities are
/// logits). The k carried classes keep their values; every other class gets the row's filler:
/// <see cref="RestMass.Uniform"/>: log((1 - sum of the k probabilities) / (C - k)), the rest of the
/// mass spread evenly (the row's probabilities sum to 1); <see cref="RestMass.Drop"/>: the k values
/// shifted by -logsumexp of them (the teacher's distribution renormalised over its k classes) and
/// <see cref="Floor"/> elsewhere. A filler below <see cref="Floor"/> (no mass left) is <see cref="Floor"/>.
/// </para>
/// </summary>
public static class SparseLogits
{
    /// <summary>
    /// The log-probability that stands for "no mass": softened by any temperature the spec allows
    /// (T &lt;= 100) it lies at least 100 below the row's maximum, a probability of 0 in float.
    /// </summary>
    public const float Floor = -1e4f;

    /// <summary>The most classes a row may carry (<c>exchange.topk</c>).</summary>
    public const int MaxK = 4096;

    /// <summary>Picks each row's k most likely classes; see the type's remarks.</summary>
    /// <param name="logits">Row-major [rows, classes] logits, all finite.</param>
    /// <param name="classes">Classes per row.</param>
    /// <param name="k">Classes kept per row, 1 &lt;= k &lt; classes.</param>
    /// <param name="values">Receives rows * k log-probabilities.</param>
    /// <param name="indices">Receives rows * k classes.</param>
    public static void Select(ReadOnlySpan<float> logits, int classes, int k, Span<float> values, Span<int> indices)
    {
        CheckShape(logits.Length, classes, k);
        var rows = logits.Length / classes;
        if (values.Length != rows * k || indices.Length != rows * k)
        {
            throw new ArgumentException($"values and indices must hold {rows * k} entries ({rows} rows x k = {k})");
        }

        // A min-heap of the k best seen so far (its root is the worst of them), per row: O(C log k).
        var heap = new int[k];
        for (var r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * classes, classes);
            var lse = RowMath.LogSumExp(row);
            var count = 0;
            for (var c = 0; c < classes; c++)
            {
                if (count < k)
                {
                    heap[count++] = c;
                    SiftUp(heap, count - 1, row);
                }
                else if (Better(row, c, heap[0]))
                {
                    heap[0] = c;
                    SiftDown(heap, k, row);
                }
            }

            // Pop the worst first: fill from the back, ending with the best at the front.
            var outValues = values.Slice(r * k, k);
            var outIndices = indices.Slice(r * k, k);
            for (var n = k; n > 0; n--)
            {
                var c = heap[0];
                outIndices[n - 1] = c;
                outValues[n - 1] = (float)(row[c] - lse);
                heap[0] = heap[n - 1];
                SiftDown(heap, n - 1, row);
            }
        }
    }

    /// <summary>The dense log-probabilities a receiver reconstructs from a checked frame; see the type's remarks.</summary>
    /// <param name="values">rows * k log-probabilities (finite, at most 0).</param>
    /// <param name="indices">rows * k classes, each in [0, classes), unique within a row.</param>
    public static float[] Densify(ReadOnlySpan<float> values, ReadOnlySpan<int> indices, int classes, int k, RestMass rest)
    {
        if (k < 1 || k >= classes || values.Length % k != 0 || indices.Length != values.Length)
        {
            throw new ArgumentException($"top-k rows need 1 <= k < classes and as many indices as values (k = {k}, classes = {classes}, {values.Length} values, {indices.Length} indices)");
        }

        var rows = values.Length / k;
        var dense = new float[(long)rows * classes];
        for (var r = 0; r < rows; r++)
        {
            var v = values.Slice(r * k, k);
            var idx = indices.Slice(r * k, k);
            var row = dense.AsSpan(r * classes, classes);
            var mass = 0.0;
            foreach (var x in v)
            {
                mass += Math.Exp(x);
            }

            float filler;
            var shift = 0.0;
            if (rest == RestMass.Uniform)
            {
                var left = 1 - mass;
                filler = left > 0 ? (float)Math.Max(Math.Log(left / (classes - k)), Floor) : Floor;
            }
            else
            {
                filler = Floor;
                shift = -Math.Log(mass);
            }

            row.Fill(filler);
            for (var i = 0; i < k; i++)
            {
                row[idx[i]] = rest == RestMass.Uniform ? v[i] : (float)Math.Max(v[i] + shift, Floor);
            }
        }

        return dense;
    }

    /// <summary>What the receiver of <paramref name="logits"/> gets: <see cref="Select"/>, then <see cref="Densify"/>.</summary>
    public static float[] RoundTrip(ReadOnlySpan<float> logits, int classes, int k, RestMass rest)
    {
        CheckShape(logits.Length, classes, k);
        var n = logits.Length / classes * k;
        var values = new float[n];
        var indices = new int[n];
        Select(logits, classes, k, values, indices);
        return Densify(values, indices, classes, k, rest);
    }

    private static void CheckShape(int length, int classes, int k)
    {
        if (classes < 2 || length % classes != 0)
        {
            throw new ArgumentException($"logits of {length} values are not rows of {classes} classes");
        }

        if (k < 1 || k >= classes)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"top-k needs 1 <= k < classes ({classes})");
        }
    }

    // Whether class a ranks above class b: a larger logit, or the same logit and a lower class.
    private static bool Better(ReadOnlySpan<float> row, int a, int b) => row[a] > row[b] || (row[a] == row[b] && a < b);

    private static void SiftUp(int[] heap, int i, ReadOnlySpan<float> row)
    {
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (!Better(row, heap[parent], heap[i]))
            {
                break;
            }

            (heap[parent], heap[i]) = (heap[i], heap[parent]);
            i = parent;
        }
    }

    private static void SiftDown(int[] heap, int count, ReadOnlySpan<float> row)
    {
        var i = 0;
        while (true)
        {
            int left = (2 * i) + 1, right = left + 1, worst = i;
            if (left < count && Better(row, heap[worst], heap[left]))
            {
                worst = left;
            }

            if (right < count && Better(row, heap[worst], heap[right]))
            {
                worst = right;
            }

            if (worst == i)
            {
                return;
            }

            (heap[worst], heap[i]) = (heap[i], heap[worst]);
            i = worst;
        }
    }
}
