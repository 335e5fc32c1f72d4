using System.Text.Json;
using PeerDistill.Torch.Tests.Support;
using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

/// <summary>
/// The native losses against values and gradients PyTorch computed from the definitions
/// (Golden/make_goldens.py wrote Golden/losses.json).
/// </summary>
public class LossGoldenTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Load(GoldenPath).RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }

        return data;
    }

    private static string GoldenPath => Path.Combine(AppContext.BaseDirectory, "Golden", "losses.json");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void NativeLoss_MatchesPyTorchValuesAndGradients(string name)
    {
        using var doc = Load(GoldenPath);
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var (total, ce, kd, grad) = Compute(c);
        var expected = c.GetProperty("expected");
        AssertClose(expected.GetProperty("total").GetDouble(), total, $"{name} total");
        AssertClose(expected.GetProperty("cross_entropy").GetDouble(), ce, $"{name} cross-entropy");
        AssertClose(expected.GetProperty("distillation").GetDouble(), kd, $"{name} distillation");
        var expectedGrad = expected.GetProperty("grad").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(expectedGrad.Length, grad.Length);
        for (var i = 0; i < grad.Length; i++)
        {
            AssertClose(expectedGrad[i], grad[i], $"{name} grad[{i}]");
        }
    }

    [PythonTorchFact]
    public void Goldens_AreReproducedByPythonTorch()
    {
        using var dir = new TempDirectory();
        var fresh = dir.File("losses.json");
        PythonTorch.Run(Path.Combine(AppContext.BaseDirectory, "Golden", "make_goldens.py"), fresh);
        using var a = Load(GoldenPath);
        using var b = Load(fresh);
        var casesA = a.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        var casesB = b.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        Assert.Equal(casesA.Length, casesB.Length);
        for (var i = 0; i < casesA.Length; i++)
        {
            var (total, _, _, _) = Compute(casesB[i]);
            AssertClose(casesB[i].GetProperty("expected").GetProperty("total").GetDouble(), total, casesB[i].GetProperty("name").GetString()!);
            AssertClose(
                casesA[i].GetProperty("expected").GetProperty("total").GetDouble(),
                casesB[i].GetProperty("expected").GetProperty("total").GetDouble(),
                "checked-in golden vs fresh python3-torch");
        }
    }

    private static (double Total, double Ce, double Kd, float[] Grad) Compute(JsonElement c)
    {
        var batch = c.GetProperty("batch").GetInt32();
        var classes = c.GetProperty("classes").GetInt32();
        using var student = Tensor.FromArray(Floats(c.GetProperty("student")), batch, classes);
        student.RequiresGrad = true;
        using var targets = Tensor.FromArray(c.GetProperty("targets").EnumerateArray().Select(e => e.GetInt64()).ToArray(), batch);
        var teachers = c.GetProperty("teachers").EnumerateArray().Select(t => Tensor.FromArray(Floats(t), batch, classes)).ToList();
        var weights = c.GetProperty("weights").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        try
        {
            using var loss = DistillationLoss.Compute(
                student,
                targets,
                teachers,
                weights,
                c.GetProperty("temperature").GetDouble(),
                c.GetProperty("alpha").GetDouble(),
                c.GetProperty("form").GetString() == "ensemble" ? TeacherForm.Ensemble : TeacherForm.Pairwise,
                c.GetProperty("combine").GetString() == "additive" ? LossCombination.Additive : LossCombination.Convex,
                c.GetProperty("label_smoothing").GetDouble(),
                checkFinite: true);
            loss.Total.Backward();
            using var grad = student.Grad ?? throw new InvalidOperationException("no gradient");
            return (loss.Total.Item(), loss.CrossEntropy.Item(), loss.Distillation.Item(), grad.ToFloatArray());
        }
        finally
        {
            teachers.ForEach(t => t.Dispose());
        }
    }

    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    private static JsonDocument Load(string path) => JsonDocument.Parse(File.ReadAllText(path));

    private static void AssertClose(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= Tolerance, $"{what}: expected {expected:R}, got {actual:R} (|diff| {Math.Abs(expected - actual):E2} > {Tolerance})");
}
