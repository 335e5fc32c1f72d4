using PeerDistill.Torch.Tests.Support;
using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

/// <summary>Named intermediate outputs of the zoo's models, the hint projection and the hint loss.</summary>
public class HintTests
{
    private static readonly InputShape Shape = new(1, 28, 28);

    public static TheoryData<string, string[]> Outputs() => new()
    {
        { "mlp", ["fc0", "fc1"] },
        { "cnn", ["conv1", "conv2", "fc1"] },
        { "resnet8", ["layer1", "layer2", "layer3"] },
        { "resnet20", ["layer1", "layer2", "layer3"] },
        { "mobilenetv2", ["features", "head"] },
    };

    [Theory]
    [MemberData(nameof(Outputs))]
    public void ZooModel_NamesItsOutputs_AndGivesForwardsLogitsWithThem(string name, string[] outputs)
    {
        using var model = Model.Create(name, Shape, 10, seed: 3);
        using var x = Tensor.Randn(5, 4, 1, 28, 28);
        Assert.Equal(outputs, model.OutputNames);
        foreach (var output in outputs)
        {
            // Training mode (batch norm uses the batch): restore the statistics between the passes.
            using var state = model.CaptureStepState();
            using var expected = model.Forward(x);
            model.RestoreStepState(state);
            var (logits, feature) = model.ForwardWithOutput(x, output);
            using (logits)
            using (feature)
            {
                Assert.True(Tensor.Equal(expected, logits), $"{name}/{output}: logits differ from forward's");
                Assert.Equal(4, feature.Shape[0]);
                Assert.True(feature.RequiresGrad);
            }

            model.RestoreStepState(state);
        }
    }

    [Fact]
    public void CnnOutputs_HaveTheirDocumentedShapes()
    {
        using var model = Model.Create("cnn", Shape, 10, seed: 3, options: new Dictionary<string, string> { ["hidden"] = "40" });
        using var x = Tensor.Randn(1, 2, 1, 28, 28);
        foreach (var (output, shape) in new[] { ("conv1", new long[] { 2, 32, 14, 14 }), ("conv2", [2, 64, 7, 7]), ("fc1", [2, 40]) })
        {
            var (logits, feature) = model.ForwardWithOutput(x, output, grad: false);
            using (logits)
            using (feature)
            {
                Assert.Equal(shape, feature.Shape);
            }
        }
    }

    [Fact]
    public void UnknownOutput_IsRefusedListingTheNames()
    {
        using var model = Model.Create("cnn", Shape, 10, seed: 3);
        using var x = Tensor.Randn(1, 2, 1, 28, 28);
        var e = Assert.Throws<TorchException>(() => model.ForwardWithOutput(x, "conv9"));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("has no output 'conv9' (its outputs: conv1, conv2, fc1)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Projection_AddsParameters_KeepsLogits_AndIsAffine()
    {
        using var model = Model.Create("mlp", Shape, 10, seed: 3, options: new Dictionary<string, string> { ["widths"] = "6" });
        using var x = Tensor.Randn(2, 3, 1, 28, 28);
        using var before = model.Predict(x);
        var count = model.ParameterCount;
        model.AddHintProjection(6, 4, spatial: false, seed: 11);
        Assert.Equal(count + (6 * 4) + 4, model.ParameterCount);
        using var after = model.Predict(x);
        Assert.True(Tensor.Equal(before, after));
        Assert.Equal(["fc0"], model.OutputNames);
        Assert.Throws<TorchException>(() => model.AddHintProjection(6, 4, spatial: false, seed: 11));

        // projection(h) = W h + b, with W and b read back from the model's state.
        using var h = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 1, 6);
        using var projected = model.ProjectHint(h);
        var state = model.State();
        var w = state.Single(s => s.Name == "hint_projection.weight").Tensor.ToFloatArray();
        var b = state.Single(s => s.Name == "hint_projection.bias").Tensor.ToFloatArray();
        state.ToList().ForEach(s => s.Dispose());
        var p = projected.ToFloatArray();
        for (var o = 0; o < 4; o++)
        {
            var expected = b[o] + Enumerable.Range(0, 6).Sum(i => w[(o * 6) + i] * (i + 1f));
            Assert.Equal(expected, p[o], 4);
        }
    }

    [Fact]
    public void ProjectedModel_RoundTripsThroughACheckpoint()
    {
        using var dir = new TempDirectory();
        var path = dir.File("s.ckpt");
        using var model = Model.Create("cnn", Shape, 10, seed: 3, options: new Dictionary<string, string> { ["hidden"] = "16" });
        model.AddHintProjection(64, 16, spatial: true, seed: 5);
        Checkpoint.Save(path, model, optimizer: null, step: 4);

        using var again = Model.Create("cnn", Shape, 10, seed: 8, options: new Dictionary<string, string> { ["hidden"] = "16" });
        again.AddHintProjection(64, 16, spatial: true, seed: 9);
        Assert.Equal(4, Checkpoint.Restore(path, again, optimizer: null));
        TinyTraining.AssertBitwiseEqual(TinyTraining.Snapshot(model), TinyTraining.Snapshot(again));
        var (loaded, _) = Checkpoint.LoadModel(path);
        using (loaded)
        {
            Assert.Equal(model.ParameterCount, loaded.ParameterCount);
            Assert.Equal(model.OutputNames, loaded.OutputNames);
        }
    }

    [Fact]
    public void HintLoss_IsTheMeanSquaredError_AndRefusesOtherShapes()
    {
        using var s = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        using var t = Tensor.FromArray([0f, 2f, 5f, 3f], 2, 2);
        using var loss = DistillationLoss.Hint(s, t);
        Assert.Equal((1 + 0 + 4 + 1) / 4.0, loss.Item(), 6);

        using var other = Tensor.FromArray([0f, 2f], 1, 2);
        var e = Assert.Throws<TorchException>(() => DistillationLoss.Hint(s, other));
        Assert.Contains("does not match the teacher's", e.Message, StringComparison.Ordinal);
    }
}
