using PeerDistill.Core.Spec;
using Xunit;
using static PeerDistill.Core.Tests.Spec.SpecText;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>Errors carry the line and column of the offending node, and format as one line each.</summary>
public class SpecLoaderPositionTests
{
    private const string Numbered = """
        cohort: demo
        peers:
          - name: a
            model: mlp
          - name: b
            model: resnet99
        data:
          dataset: fashion-mnist
        distillation:
          temperature: hot
          tau: 2

        """;

    [Fact]
    public void UnknownModel_FormatsAsFileLineColumnPathMessage()
    {
        var error = Assert.Single(Parse(Numbered).Errors, e => e.Path == "peers[1].model");

        Assert.Equal(
            "spec.yaml:6:12: peers[1].model: unknown model 'resnet99' (known: mlp, cnn, resnet8, resnet20, resnet32, mobilenetv2)",
            error.ToString());
    }

    [Theory]
    [InlineData("peers[1].model", 6, 12)]            // the value
    [InlineData("distillation.temperature", 10, 16)] // the value
    [InlineData("distillation.tau", 11, 3)]          // the unknown key
    public void ValueAndKeyErrors_PointAtTheNode(string path, int line, int column)
    {
        var error = Assert.Single(Parse(Numbered).Errors, e => e.Path == path);

        Assert.Equal((line, column), (error.Line, error.Column));
    }

    [Fact]
    public void MissingRequiredField_PointsAtItsMapping()
    {
        var yaml = Minimal.Replace("  - name: b\n    model: cnn", "  - model: cnn", StringComparison.Ordinal);

        var error = Assert.Single(Parse(yaml).Errors);

        Assert.Equal("peers[1].name", error.Path);
        Assert.Equal((5, 5), (error.Line, error.Column));
    }

    [Fact]
    public void SyntaxError_TakesThePositionFromYamlDotNet()
    {
        var error = Assert.Single(Parse("cohort: demo\npeers:\n  - name: a\n   model: mlp\n").Errors);

        Assert.Equal(string.Empty, error.Path);
        Assert.Equal((4, 4), (error.Line, error.Column));
        Assert.StartsWith("spec.yaml:4:4: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void UnclosedFlowList_IsAnErrorAtTheLastGoodNode()
    {
        var error = Assert.Single(Parse("cohort: demo\npeers: [a,\ndata: {}\n").Errors);

        Assert.Equal("spec.yaml:2:10: invalid YAML after this point", error.ToString());
    }

    [Fact]
    public void DuplicateKey_PointsAtTheSecondOne()
    {
        var error = Assert.Single(Parse("cohort: a\ncohort: b\n").Errors);

        Assert.Equal((2, 1), (error.Line, error.Column));
        Assert.Contains("Duplicate key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyFile_IsOneErrorAtTheStart()
    {
        var error = Assert.Single(Parse(string.Empty).Errors);

        Assert.Equal("spec.yaml:1:1: empty spec (expected a mapping with cohort, peers and data)", error.ToString());
    }

    [Fact]
    public void JsonError_PointsIntoTheJson()
    {
        const string json = """
            {
              "cohort": "demo",
              "peers": [{"name": "a", "model": "mlp", "threads": 0}],
              "data": {"dataset": "fashion-mnist"}
            }
            """;

        var error = Assert.Single(Parse(json).Errors);

        Assert.Equal("peers[0].threads", error.Path);
        Assert.Equal((3, 54), (error.Line, error.Column));
    }

    [Fact]
    public void FiveProblems_GiveFiveErrorsInDocumentOrder()
    {
        const string yaml = """
            cohort: 'bad name'
            peers:
              - name: a
                model: resnet99
              - name: a
                model: cnn
            data:
              batch_size: zero
            distillation:
              teachers: {a: [z]}

            """;

        var result = Parse(yaml);

        Assert.False(result.IsValid);
        Assert.Equal(
            ["cohort", "peers[0].model", "peers[1].name", "data.batch_size", "distillation.teachers.a[0]"],
            result.Errors.Select(e => e.Path));
        Assert.Equal(
            [(1, 9), (4, 12), (5, 11), (8, 15), (10, 18)],
            result.Errors.Select(e => (e.Line, e.Column)));
        Assert.Equal(5, result.ToString().Split(Environment.NewLine).Length);
    }

    [Fact]
    public void UnreadableFile_IsOneErrorWithoutPosition()
    {
        using var dir = new TempSpecDirectory();
        var path = Path.Combine(dir.Path, "absent.yaml");

        var result = SpecLoader.Load(path);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith($"{path}: cannot read the spec:", error.ToString(), StringComparison.Ordinal);
    }
}
