using System.Globalization;
using PeerDistill.Core.Exchange;
using PeerDistill.Torch.Tests.Support;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

public sealed class SparseLogitsTests
{
    // p = [0.1, 0.2, 0.3, 0.4]: logits ln(1..4) (any shift of a row gives the same probabilities).
    private static readonly float[] Quarter = [0f, MathF.Log(2), MathF.Log(3), MathF.Log(4)];

    [Fact]
    public void Select_KeepsTheLargestLogProbabilitiesInDescendingOrder()
    {
        var values = new float[2];
        var indices = new int[2];
        SparseLogits.Select(Quarter, 4, 2, values, indices);
        Assert.Equal([3, 2], indices);
        Assert.Equal(Math.Log(0.4), values[0], 6);
        Assert.Equal(Math.Log(0.3), values[1], 6);
    }

    [Fact]
    public void Select_BreaksTiesTowardsTheLowerClass()
    {
        var values = new float[4];
        var indices = new int[4];
        SparseLogits.Select([1f, 1f, 1f, 0f, 0f, 2f, 0f, 2f], 4, 2, values, indices);
        Assert.Equal([0, 1, 1, 3], indices);
    }

    [Fact]
    public void Uniform_SpreadsTheRestEvenly_HandComputed()
    {
        // Top 2 of [0.1, 0.2, 0.3, 0.4] keep 0.7; the other two classes get 0.15 each.
        var dense = SparseLogits.RoundTrip(Quarter, 4, 2, RestMass.Uniform);
        double[] expected = [Math.Log(0.15), Math.Log(0.15), Math.Log(0.3), Math.Log(0.4)];
        for (var c = 0; c < 4; c++)
        {
            Assert.Equal(expected[c], dense[c], 6);
        }

        Assert.Equal(1.0, dense.Sum(v => Math.Exp(v)), 6);
    }

    [Fact]
    public void Drop_RenormalisesOverTheTopK_HandComputed()
    {
        var dense = SparseLogits.RoundTrip(Quarter, 4, 2, RestMass.Drop);
        Assert.Equal(SparseLogits.Floor, dense[0]);
        Assert.Equal(SparseLogits.Floor, dense[1]);
        Assert.Equal(Math.Log(0.3 / 0.7), dense[2], 6);
        Assert.Equal(Math.Log(0.4 / 0.7), dense[3], 6);
    }

    [Fact]
    public void Uniform_WithNoMassLeft_FillsTheFloor()
    {
        // One class holds all the mass (in float): nothing is left for the others.
        var dense = SparseLogits.RoundTrip([0f, -200f, -200f], 3, 1, RestMass.Uniform);
        Assert.Equal([0f, SparseLogits.Floor, SparseLogits.Floor], dense);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void KOutsideOneToClassesLessOne_IsRefused(int k)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseLogits.RoundTrip(Quarter, 4, k, RestMass.Uniform));
    }

    [PythonTorchFact]
    [Trait("Category", "Golden")]
    public void RoundTrip_MatchesPythonTorch()
    {
        const int classes = 12, rows = 5;
        var random = new Random(12);
        var logits = Enumerable.Range(0, rows * classes).Select(_ => (float)Math.Round((random.NextDouble() * 16) - 8, 4)).ToArray();
        (int K, RestMass Mode)[] cases = [(1, RestMass.Uniform), (3, RestMass.Uniform), (11, RestMass.Uniform), (3, RestMass.Drop), (7, RestMass.Drop)];
        static string Name(RestMass rest) => rest == RestMass.Drop ? "drop" : "uniform";
        var output = PythonTorch.Run(
            Path.Combine(AppContext.BaseDirectory, "Runner", "sparse_logits_reference.py"),
            [string.Join(',', cases.Select(c => $"{c.K}:{Name(c.Mode)}")), classes.ToString(CultureInfo.InvariantCulture), .. logits.Select(v => v.ToString("R", CultureInfo.InvariantCulture))]);
        var expected = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => float.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(cases.Length * rows * classes, expected.Length);
        for (var n = 0; n < cases.Length; n++)
        {
            var (k, rest) = cases[n];
            var actual = SparseLogits.RoundTrip(logits, classes, k, rest);
            for (var i = 0; i < actual.Length; i++)
            {
                var e = expected[(n * rows * classes) + i];
                Assert.True(Math.Abs(e - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(e)), $"k {k} {Name(rest)}, row {i / classes}, class {i % classes}: torch {e:R}, ours {actual[i]:R}");
            }
        }
    }
}
