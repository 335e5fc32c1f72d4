using System.Text.Json;
using PeerDistill.Torch.Tests.Support;
using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

/// <summary>
/// The distillation loss with a weight per sample and teacher (multi-teacher weighting), against
/// python3-torch computing it from its definition (Golden/per_sample_loss.py), values and gradients.
/// </summary>
public class PerSampleLossTests
{
    private const double Tolerance = 1e-5;

    [PythonTorchFact]
    public void PerSampleLoss_MatchesPyTorch_ForEveryFormAndCombination()
    {
        var cases = new List<Case>();
        var random = new Random(12);
        foreach (var form in new[] { TeacherForm.Pairwise, TeacherForm.Ensemble })
        {
            foreach (var combine in new[] { LossCombination.Additive, LossCombination.Convex })
            {
                foreach (var teachers in new[] { 1, 3 })
                {
                    cases.Add(RandomCase(random, batch: 5, classes: 4, teachers, form, combine, temperature: 2.5, alpha: 0.7, labelSmoothing: combine == LossCombination.Convex ? 0.1 : 0));
                }
            }
        }

        using var dir = new TempDirectory();
        var input = dir.File("cases.json");
        var output = dir.File("expected.json");
        File.WriteAllText(input, JsonSerializer.Serialize(cases.Select(c => c.ToJson())));
        PythonTorch.Run(Path.Combine(AppContext.BaseDirectory, "Golden", "per_sample_loss.py"), input, output);
        using var expected = JsonDocument.Parse(File.ReadAllText(output));
        var rows = expected.RootElement.EnumerateArray().ToArray();
        Assert.Equal(cases.Count, rows.Length);
        for (var i = 0; i < cases.Count; i++)
        {
            var (total, ce, kd, grad) = Compute(cases[i]);
            var e = rows[i];
            var name = $"case {i} ({cases[i].Form}, {cases[i].Combine}, {cases[i].Teachers.Count} teachers)";
            AssertClose(e.GetProperty("total").GetDouble(), total, name + " total");
            AssertClose(e.GetProperty("cross_entropy").GetDouble(), ce, name + " cross-entropy");
            AssertClose(e.GetProperty("distillation").GetDouble(), kd, name + " distillation");
            var g = e.GetProperty("grad").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(g.Length, grad.Length);
            for (var j = 0; j < g.Length; j++)
            {
                AssertClose(g[j], grad[j], $"{name} grad[{j}]");
            }
        }
    }

    [Theory]
    [InlineData(TeacherForm.Pairwise)]
    [InlineData(TeacherForm.Ensemble)]
    public void RowsOfEqualWeights_GiveThePerTeacherLoss(TeacherForm form)
    {
        var random = new Random(3);
        var c = RandomCase(random, batch: 6, classes: 5, teachers: 2, form, LossCombination.Additive, temperature: 3, alpha: 1, labelSmoothing: 0);
        // Rows proportional to (2, 1): per-teacher weights 2 and 1, written per sample at two scales.
        var rows = Enumerable.Range(0, 6).SelectMany(b => b % 2 == 0 ? new[] { 2f, 1f } : new[] { 0.2f, 0.1f }).ToArray();
        var (total, _, kd, _) = Compute(c with { Weights = rows });

        using var logits = Tensor.FromArray(c.Logits, 6, 5);
        using var y = Tensor.FromArray(c.Targets, 6);
        var teachers = c.Teachers.Select(t => Tensor.FromArray(t, 6, 5)).ToList();
        using var expected = DistillationLoss.Compute(logits, y, teachers, [2.0, 1.0], 3, 1, form, LossCombination.Additive);
        teachers.ForEach(t => t.Dispose());
        AssertClose(expected.Total.Item(), total, "total");
        AssertClose(expected.Distillation.Item(), kd, "distillation");
    }

    [Fact]
    public void BadSampleWeights_AreRefusedNamingTheProblem()
    {
        using var logits = Tensor.FromArray(new float[8], 2, 4);
        using var y = Tensor.FromArray(new long[] { 0, 1 }, 2);
        using var teacher = Tensor.FromArray(new float[8], 2, 4);
        foreach (var (weights, shape, message) in new (float[], long[], string)[]
        {
            ([1f, 1f, 1f], [3, 1], "sample weights must be [2, 1]"),
            ([1f, -1f], [2, 1], "must not be negative"),
            ([1f, 0f], [2, 1], "every row of the sample weights must sum to more than zero"),
            ([1f, float.NaN], [2, 1], "must be finite"),
        })
        {
            using var w = Tensor.FromArray(weights, shape);
            var e = Assert.Throws<TorchException>(() => DistillationLoss.ComputePerSample(logits, y, [teacher], w, 1, 1, TeacherForm.Pairwise, LossCombination.Additive));
            Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
            Assert.Contains(message, e.Message, StringComparison.Ordinal);
        }
    }

    private static Case RandomCase(Random random, int batch, int classes, int teachers, TeacherForm form, LossCombination combine, double temperature, double alpha, double labelSmoothing)
    {
        float[] Logits() => [.. Enumerable.Range(0, batch * classes).Select(_ => (float)((random.NextDouble() * 6) - 3))];
        return new Case(
            batch,
            classes,
            Logits(),
            [.. Enumerable.Range(0, batch).Select(_ => (long)random.Next(classes))],
            [.. Enumerable.Range(0, teachers).Select(_ => Logits())],
            [.. Enumerable.Range(0, batch * teachers).Select(_ => (float)(0.05 + random.NextDouble()))],
            form,
            combine,
            temperature,
            alpha,
            labelSmoothing);
    }

    private static (double Total, double Ce, double Kd, double[] Grad) Compute(Case c)
    {
        using var leaf = RequiringGrad(c);
        using var y = Tensor.FromArray(c.Targets, c.Batch);
        var teachers = c.Teachers.Select(t => Tensor.FromArray(t, c.Batch, c.Classes)).ToList();
        using var w = Tensor.FromArray(c.Weights, c.Batch, c.Teachers.Count);
        try
        {
            using var loss = DistillationLoss.ComputePerSample(leaf, y, teachers, w, c.Temperature, c.Alpha, c.Form, c.Combine, c.LabelSmoothing, checkFinite: true);
            loss.Total.Backward();
            using var grad = leaf.Grad!;
            return (loss.Total.Item(), loss.CrossEntropy.Item(), loss.Distillation.Item(), [.. grad.ToFloatArray().Select(v => (double)v)]);
        }
        finally
        {
            teachers.ForEach(t => t.Dispose());
        }
    }

    private static Tensor RequiringGrad(Case c)
    {
        var t = Tensor.FromArray(c.Logits, c.Batch, c.Classes);
        t.RequiresGrad = true;
        return t;
    }

    private static void AssertClose(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= Tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R}");

    private sealed record Case(
        int Batch, int Classes, float[] Logits, long[] Targets, IReadOnlyList<float[]> Teachers, float[] Weights,
        TeacherForm Form, LossCombination Combine, double Temperature, double Alpha, double LabelSmoothing)
    {
        public object ToJson() => new Dictionary<string, object>
        {
            ["batch"] = Batch,
            ["classes"] = Classes,
            ["logits"] = Logits,
            ["targets"] = Targets,
            ["teachers"] = Teachers,
            ["weights"] = Weights,
            ["form"] = Form == TeacherForm.Pairwise ? "pairwise" : "ensemble",
            ["combine"] = Combine == LossCombination.Convex ? "convex" : "additive",
            ["temperature"] = Temperature,
            ["alpha"] = Alpha,
            ["label_smoothing"] = LabelSmoothing,
        };
    }
}
