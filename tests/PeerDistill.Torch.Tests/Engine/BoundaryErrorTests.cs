using PeerDistill.Torch.Tests.Support;
using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

/// <summary>Every failure inside libtorch or the shim arrives as a TorchException, never a crash.</summary>
public class BoundaryErrorTests
{
    private static readonly InputShape Mnist = new(1, 28, 28);

    [Fact]
    public void WrongInputShape_ThrowsInvalidArgumentNamingShapes()
    {
        using var model = Model.Create("cnn", Mnist, 10, seed: 0);
        using var x = Tensor.Randn(0, 4, 3, 32, 32);
        var e = Assert.Throws<TorchException>(() => model.Forward(x));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("[N, 1, 28, 28]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 3, 32, 32]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MatmulShapeMismatch_ThrowsTorchErrorWithNativeText()
    {
        using var a = Tensor.Randn(0, 2, 3);
        using var b = Tensor.Randn(1, 4, 5);
        var e = Assert.Throws<TorchException>(() => a.Matmul(b));
        Assert.Equal(TorchErrorKind.Torch, e.Kind);
        Assert.Contains("cannot be multiplied", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TargetOutOfRange_ThrowsTorchError()
    {
        using var logits = Tensor.Randn(0, 2, 10);
        using var targets = Tensor.FromArray(new long[] { 1, 12 }, 2);
        var e = Assert.Throws<TorchException>(() => DistillationLoss.CrossEntropy(logits, targets));
        Assert.Equal(TorchErrorKind.Torch, e.Kind);
    }

    [Fact]
    public void TeacherShapeMismatch_ThrowsNamingTheTeacher()
    {
        using var logits = Tensor.Randn(0, 4, 10);
        using var targets = Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 4);
        using var ok = Tensor.Randn(1, 4, 10);
        using var bad = Tensor.Randn(2, 4, 5);
        var e = Assert.Throws<TorchException>(() =>
            DistillationLoss.Compute(logits, targets, new[] { ok, bad }, ReadOnlySpan<double>.Empty, 2, 0.5, TeacherForm.Pairwise, LossCombination.Convex));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("teacher 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NaNLogits_WithFiniteCheck_ThrowsNonFinite()
    {
        var values = new float[20];
        values[3] = float.NaN;
        using var logits = Tensor.FromArray(values, 2, 10);
        using var targets = Tensor.FromArray(new long[] { 0, 1 }, 2);
        var e = Assert.Throws<TorchException>(() => DistillationLoss.CrossEntropy(logits, targets, checkFinite: true));
        Assert.Equal(TorchErrorKind.NonFinite, e.Kind);
        Assert.Contains("NaN", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InfiniteTensor_EnsureFinite_ThrowsNamingWhat()
    {
        using var t = Tensor.FromArray(new[] { 1f, float.PositiveInfinity }, 2);
        var e = Assert.Throws<TorchException>(() => t.EnsureFinite("peer 'a' logits"));
        Assert.Equal(TorchErrorKind.NonFinite, e.Kind);
        Assert.Contains("peer 'a' logits contains infinity", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HugeTensor_EnsureFiniteWithABound_ThrowsNamingWhatAndTheBound()
    {
        using var t = Tensor.FromArray(new[] { 1f, -3e38f }, 2);
        t.EnsureFinite("peer 'a' logits");
        var e = Assert.Throws<TorchException>(() => t.EnsureFinite("peer 'a' logits", maxAbs: 1e6));
        Assert.Equal(TorchErrorKind.NonFinite, e.Kind);
        Assert.Contains("peer 'a' logits holds a value of magnitude 3e+38, beyond the bound 1e+06", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTorchScriptFile_ThrowsIoNamingPath()
    {
        var e = Assert.Throws<TorchException>(() => Model.LoadTorchScript("/nonexistent/model.pt"));
        Assert.Equal(TorchErrorKind.Io, e.Kind);
        Assert.Contains("/nonexistent/model.pt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GarbageTorchScriptFile_ThrowsIo()
    {
        using var dir = new TempDirectory();
        var path = dir.File("garbage.pt");
        File.WriteAllBytes(path, Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray());
        var e = Assert.Throws<TorchException>(() => Model.LoadTorchScript(path));
        Assert.Equal(TorchErrorKind.Io, e.Kind);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptCheckpoint_ThrowsIo()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.ckpt");
        File.WriteAllText(path, "not a checkpoint");
        using var model = Model.Create("mlp", Mnist, 10, seed: 0);
        var e = Assert.Throws<TorchException>(() => Checkpoint.Restore(path, model, null));
        Assert.Equal(TorchErrorKind.Io, e.Kind);
    }

    [Fact]
    public void CheckpointOfAnotherArchitecture_IsRefused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("mlp.ckpt");
        using (var mlp = Model.Create("mlp", Mnist, 10, seed: 0))
        {
            Checkpoint.Save(path, mlp, null, 3);
        }

        using var cnn = Model.Create("cnn", Mnist, 10, seed: 0);
        var e = Assert.Throws<TorchException>(() => Checkpoint.Restore(path, cnn, null));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("'mlp'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CudaDevice_WithoutCuda_ThrowsDeviceUnavailable()
    {
        if (TorchRuntime.CudaDeviceCount > 0)
        {
            // On a GPU machine the same call must succeed instead.
            using var onGpu = Model.Create("mlp", Mnist, 10, seed: 0, device: "cuda:0");
            Assert.StartsWith("cuda", onGpu.Device, StringComparison.Ordinal);
            return;
        }

        var e = Assert.Throws<TorchException>(() => Model.Create("mlp", Mnist, 10, seed: 0, device: "cuda:0"));
        Assert.Equal(TorchErrorKind.DeviceUnavailable, e.Kind);
        Assert.Contains("CUDA is not available", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownDevice_ThrowsInvalidArgument()
    {
        var e = Assert.Throws<TorchException>(() => TorchRuntime.CheckDevice("tpu:0"));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("tpu:0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownModel_ListsKnownModels()
    {
        var e = Assert.Throws<TorchException>(() => Model.Create("resnet99", Mnist, 10, seed: 0));
        Assert.Equal("unknown model 'resnet99' (known: mlp, cnn, resnet8, resnet20, resnet32, mobilenetv2)", e.Message);
    }

    [Fact]
    public void UnknownModelOption_NamesOptionAndKnownOnes()
    {
        var e = Assert.Throws<TorchException>(() =>
            Model.Create("mlp", Mnist, 10, seed: 0, options: new Dictionary<string, string> { ["depth"] = "3" }));
        Assert.Contains("model 'mlp': unknown option 'depth' (known: dropout, widths)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadOptionValue_NamesOptionAndValue()
    {
        var e = Assert.Throws<TorchException>(() =>
            Model.Create("resnet20", new InputShape(3, 32, 32), 10, seed: 0, options: new Dictionary<string, string> { ["width"] = "wide" }));
        Assert.Contains("option 'width' must be a number, got 'wide'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShapeAndDataLengthMismatch_Throws()
    {
        var e = Assert.Throws<TorchException>(() => Tensor.FromArray(new float[5], 2, 3));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("6 elements but 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BackwardWithoutGrad_Throws()
    {
        using var t = Tensor.Randn(0, 3);
        using var s = t.Sum();
        Assert.Throws<TorchException>(() => s.Backward());
    }

    [Fact]
    public void ErrorOnOneThread_DoesNotLeakIntoAnother()
    {
        var messages = new string[4];
        Parallel.For(0, 4, i =>
        {
            var e = Assert.Throws<TorchException>(() => TorchRuntime.CheckDevice($"bogus{i}"));
            messages[i] = e.Message;
        });
        for (var i = 0; i < 4; i++)
        {
            Assert.Contains($"bogus{i}", messages[i], StringComparison.Ordinal);
        }
    }
}
