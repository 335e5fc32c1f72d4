namespace PeerDistill.Torch.Tests.Support;

/// <summary>Deterministic training steps on synthetic tensors for engine tests.</summary>
internal static class TinyTraining
{
    public static readonly InputShape Shape = new(1, 28, 28);

    /// <summary>
    /// Runs steps [first, first + count) with inputs derived from the step number, put on
    /// <paramref name="device"/> first; returns the last loss.
    /// </summary>
    public static double Run(Model model, Optimizer optimizer, int first, int count, LearningRateSchedule? schedule = null, int batch = 16, string device = "cpu")
    {
        double last = double.NaN;
        for (var step = first; step < first + count; step++)
        {
            if (schedule is not null)
            {
                optimizer.LearningRate = schedule.At(step);
            }

            using var hostX = Tensor.Randn(1000 + step, batch, Shape.Channels, Shape.Height, Shape.Width);
            using var hostY = Tensor.FromArray(Enumerable.Range(0, batch).Select(i => (long)((i + step) % 10)).ToArray(), batch);
            using var x = device == "cpu" ? hostX.Detach() : hostX.To(device);
            using var y = device == "cpu" ? hostY.Detach() : hostY.To(device);
            optimizer.ZeroGrad();
            using var logits = model.Forward(x);
            using var loss = DistillationLoss.CrossEntropy(logits, y, checkFinite: true);
            loss.Total.Backward();
            optimizer.Step();
            last = loss.Total.Item();
        }

        return last;
    }

    /// <summary>All parameters and buffers, by name, as float arrays.</summary>
    public static Dictionary<string, float[]> Snapshot(Model model)
    {
        var result = new Dictionary<string, float[]>();
        foreach (var entry in model.State())
        {
            using (entry)
            {
                result[entry.Name] = entry.Tensor.ToFloatArray();
            }
        }

        return result;
    }

    public static void AssertBitwiseEqual(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual)
    {
        Xunit.Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, values) in expected)
        {
            var other = actual[name];
            Xunit.Assert.Equal(values.Length, other.Length);
            for (var i = 0; i < values.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(values[i]) != BitConverter.SingleToInt32Bits(other[i]))
                {
                    Xunit.Assert.Fail($"{name}[{i}]: {values[i]:R} != {other[i]:R}");
                }
            }
        }
    }
}
