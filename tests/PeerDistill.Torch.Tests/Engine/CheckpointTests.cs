using PeerDistill.Torch.Tests.Support;
using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

/// <summary>A save/load round trip continues training bitwise identically (CPU, one thread).</summary>
public class CheckpointTests
{
    public static TheoryData<string, OptimizerKind, string> Cases() => new()
    {
        { "cnn", OptimizerKind.Sgd, string.Empty },
        { "mlp", OptimizerKind.Adam, "dropout=0.3" },        // dropout: the model's random stream is restored too
        { "resnet8", OptimizerKind.AdamW, string.Empty },    // batch-norm running statistics are buffers
        { "mobilenetv2", OptimizerKind.Sgd, "width=0.5" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SaveRestore_ContinuesBitwiseIdentically(string arch, OptimizerKind kind, string options)
    {
        TorchRuntime.SetNumThreads(1);
        var opts = new OptimizerOptions { Kind = kind, LearningRate = kind == OptimizerKind.Sgd ? 0.05 : 1e-3, Momentum = kind == OptimizerKind.Sgd ? 0.9 : 0, Nesterov = kind == OptimizerKind.Sgd, WeightDecay = 5e-4 };
        var schedule = new LearningRateSchedule { Kind = ScheduleKind.Cosine, BaseLearningRate = opts.LearningRate, TotalSteps = 8, WarmupSteps = 2 };
        var modelOptions = ParseOptions(options);
        using var dir = new TempDirectory();
        var path = dir.File("peer.ckpt");

        using var reference = Model.Create(arch, TinyTraining.Shape, 10, seed: 7, options: modelOptions);
        using var referenceOpt = Optimizer.Create(reference, opts);
        TinyTraining.Run(reference, referenceOpt, 0, 4, schedule, batch: 8);
        Checkpoint.Save(path, reference, referenceOpt, step: 4, metadata: "{\"peer\":\"a\"}");
        TinyTraining.Run(reference, referenceOpt, 4, 4, schedule, batch: 8);

        // A fresh model from another seed: everything that matters must come from the checkpoint.
        using var resumed = Model.Create(arch, TinyTraining.Shape, 10, seed: 99, options: modelOptions);
        using var resumedOpt = Optimizer.Create(resumed, opts);
        var step = Checkpoint.Restore(path, resumed, resumedOpt);
        Assert.Equal(4, step);
        TinyTraining.Run(resumed, resumedOpt, (int)step, 4, schedule, batch: 8);

        TinyTraining.AssertBitwiseEqual(TinyTraining.Snapshot(reference), TinyTraining.Snapshot(resumed));
    }

    [Fact]
    public void LoadModel_RebuildsTheModelFromTheFileAlone()
    {
        using var dir = new TempDirectory();
        var path = dir.File("cnn.ckpt");
        using var model = Model.Create("cnn", TinyTraining.Shape, 10, seed: 3);
        Checkpoint.Save(path, model, null, step: 12, metadata: "hello");
        var (loaded, step) = Checkpoint.LoadModel(path);
        using (loaded)
        {
            Assert.Equal(12, step);
            Assert.Equal("cnn", loaded.Architecture);
            TinyTraining.AssertBitwiseEqual(TinyTraining.Snapshot(model), TinyTraining.Snapshot(loaded));
        }

        Assert.Equal(("hello", 12L), Checkpoint.ReadMetadata(path));
    }

    [Fact]
    public void Save_LeavesNoTemporaryFileAndReplacesAtomically()
    {
        using var dir = new TempDirectory();
        var path = dir.File("nested/dir/peer.ckpt");
        using var model = Model.Create("mlp", TinyTraining.Shape, 10, seed: 3);
        Checkpoint.Save(path, model, null, 1);
        Checkpoint.Save(path, model, null, 2);
        Assert.Equal(2, Checkpoint.ReadMetadata(path).Step);
        Assert.Equal(new[] { "peer.ckpt" }, Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void Restore_WithoutSavedOptimizerState_IsRefused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("peer.ckpt");
        using var model = Model.Create("mlp", TinyTraining.Shape, 10, seed: 3);
        using var optimizer = Optimizer.Create(model, new OptimizerOptions());
        Checkpoint.Save(path, model, null, 1);
        var e = Assert.Throws<TorchException>(() => Checkpoint.Restore(path, model, optimizer));
        Assert.Contains("no optimizer state", e.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, string>? ParseOptions(string text) =>
        string.IsNullOrEmpty(text) ? null : text.Split(';').Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);
}
