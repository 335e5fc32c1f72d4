using System.Text.Json;
using PeerDistill.Torch.Tests.Support;
using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

/// <summary>Models cross between PyTorch and the engine as TorchScript files, both ways.</summary>
public class TorchScriptTests
{
    private static string Script => Path.Combine(AppContext.BaseDirectory, "Golden", "torchscript_peer.py");

    [PythonTorchFact]
    public void ScriptedPyTorchModel_TrainsAsAPeer()
    {
        using var dir = new TempDirectory();
        var path = dir.File("small.pt");
        PythonTorch.Run(Script, "export", path);

        TorchRuntime.SetNumThreads(1);
        using var model = Model.LoadTorchScript(path, seed: 3);
        Assert.Equal("torchscript", model.Architecture);
        Assert.True(model.IsStochastic); // nn.Dropout inside
        using var optimizer = Optimizer.Create(model, new OptimizerOptions { LearningRate = 0.05, Momentum = 0.9 });
        using var x = Tensor.Randn(11, 32, 1, 28, 28);
        using var y = Tensor.FromArray(Enumerable.Range(0, 32).Select(i => (long)(i % 10)).ToArray(), 32);
        double first = 0, last = 0;
        for (var step = 0; step < 30; step++)
        {
            optimizer.ZeroGrad();
            using var logits = model.Forward(x);
            using var loss = DistillationLoss.CrossEntropy(logits, y, checkFinite: true);
            loss.Total.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Total.Item();
            last = loss.Total.Item();
        }

        Assert.True(last < first * 0.3, $"loss went from {first} to {last}");

        // The trained peer goes back to PyTorch and computes what the engine computes.
        var exported = dir.File("trained.pt");
        model.ExportTorchScript(exported);
        AssertSameLogitsInPyTorch(model, exported);
    }

    [PythonTorchFact]
    public void ExportedZooModels_RunInPyTorchWithTheSameLogits()
    {
        using var dir = new TempDirectory();
        foreach (var name in Model.ZooNames)
        {
            using var model = Model.Create(name, new InputShape(1, 28, 28), 10, seed: 4);
            var path = dir.File($"{name}.pt");
            model.ExportTorchScript(path);
            AssertSameLogitsInPyTorch(model, path);
        }
    }

    [Fact]
    public void ExportedZooModel_LoadsBackIntoTheEngine()
    {
        using var dir = new TempDirectory();
        var path = dir.File("cnn.pt");
        using var model = Model.Create("cnn", new InputShape(1, 28, 28), 10, seed: 4);
        model.ExportTorchScript(path);
        using var loaded = Model.LoadTorchScript(path);
        TinyTraining.AssertBitwiseEqual(TinyTraining.Snapshot(model), TinyTraining.Snapshot(loaded));
    }

    private static void AssertSameLogitsInPyTorch(Model model, string path)
    {
        const int n = 3;
        var input = Enumerable.Range(0, n * 784).Select(i => (float)(-1.0 + (2.0 * i / ((n * 784) - 1)))).ToArray();
        model.Eval();
        using var x = Tensor.FromArray(input, n, 1, 28, 28);
        using var logits = model.Predict(x);
        var ours = logits.ToFloatArray();
        var theirs = JsonSerializer.Deserialize<double[]>(PythonTorch.Run(Script, "run", path, n.ToString(System.Globalization.CultureInfo.InvariantCulture)))!;
        Assert.Equal(ours.Length, theirs.Length);
        for (var i = 0; i < ours.Length; i++)
        {
            Assert.True(Math.Abs(ours[i] - theirs[i]) < 1e-4, $"{path} logit {i}: engine {ours[i]}, PyTorch {theirs[i]}");
        }
    }
}
