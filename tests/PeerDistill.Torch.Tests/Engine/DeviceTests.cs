using PeerDistill.Torch.Data;
using PeerDistill.Torch.Tests.Support;
using Xunit;

namespace PeerDistill.Torch.Tests.Engine;

/// <summary>
/// Models, training steps, evaluation and checkpoints on a CUDA device, and the errors where
/// there is none. The CUDA facts are Skipped on a machine without a GPU.
/// </summary>
public class DeviceTests
{
    private const string Gpu = "cuda:0";

    [Fact]
    public void CudaMemory_OfTheCpu_IsRefusedNamingTheDevice()
    {
        var e = Assert.Throws<TorchException>(() => TorchRuntime.CudaMemory("cpu"));
        Assert.Equal(TorchErrorKind.InvalidArgument, e.Kind);
        Assert.Equal("memory statistics are kept for CUDA devices only, not for 'cpu'", e.Message);
    }

    [Fact]
    public void CudaMemory_WithoutCuda_SaysCudaIsNotAvailable()
    {
        if (TorchRuntime.CudaDeviceCount > 0)
        {
            // On a GPU machine the same call must give figures instead.
            var memory = TorchRuntime.CudaMemory(Gpu);
            Assert.True(memory.PeakReservedBytes >= memory.ReservedBytes && memory.ReservedBytes >= memory.AllocatedBytes, memory.ToString());
            return;
        }

        var e = Assert.Throws<TorchException>(() => TorchRuntime.CudaMemory(Gpu));
        Assert.Equal(TorchErrorKind.DeviceUnavailable, e.Kind);
        Assert.Contains("'cuda:0' requested but CUDA is not available", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckpointRestore_OntoTheCpuWithAnExplicitDevice_MatchesTheSavedModel()
    {
        using var dir = new TempDirectory();
        var path = dir.File("cnn.ckpt");
        using var model = Model.Create("cnn", TinyTraining.Shape, 10, seed: 3);
        Checkpoint.Save(path, model, null, step: 5);
        var (loaded, step) = Checkpoint.LoadModel(path, "cpu");
        using (loaded)
        {
            Assert.Equal((5L, "cpu"), (step, loaded.Device));
            TinyTraining.AssertBitwiseEqual(TinyTraining.Snapshot(model), TinyTraining.Snapshot(loaded));
        }
    }

    // A checkpoint marked as written on a GPU (python3-torch rewrites the mark) restores on the CPU
    // with the same weights and optimizer state, and a random stream seeded from the saved one:
    // the same file always gives the same stream, and not the saved CPU stream.
    [PythonTorchFact]
    public void Checkpoint_FromTheOtherKindOfDevice_GoesOnWithAStreamSeededFromTheSavedOne()
    {
        TorchRuntime.SetNumThreads(1);
        using var dir = new TempDirectory();
        var opts = new OptimizerOptions { Kind = OptimizerKind.Sgd, LearningRate = 0.05, Momentum = 0.9 };
        var dropout = new Dictionary<string, string> { ["dropout"] = "0.5" };
        var sameKind = dir.File("cpu.ckpt");
        using (var model = Model.Create("mlp", TinyTraining.Shape, 10, seed: 7, options: dropout))
        using (var optimizer = Optimizer.Create(model, opts))
        {
            TinyTraining.Run(model, optimizer, 0, 2, batch: 8);
            Checkpoint.Save(sameKind, model, optimizer, step: 2);
        }

        var otherKind = dir.File("marked-cuda.ckpt");
        var script = dir.File("mark.py");
        File.WriteAllText(script, """
            import sys, torch
            archive = torch.jit.load(sys.argv[1], map_location="cpu")
            assert archive.generator_device == "cpu", archive.generator_device
            archive.generator_device = "cuda"
            torch.jit.save(archive, sys.argv[2])
            """);
        PythonTorch.Run(script, sameKind, otherKind);

        Dictionary<string, float[]> Resume(string path, out Dictionary<string, float[]> restored)
        {
            using var model = Model.Create("mlp", TinyTraining.Shape, 10, seed: 99, options: dropout);
            using var optimizer = Optimizer.Create(model, opts);
            Assert.Equal(2, Checkpoint.Restore(path, model, optimizer));
            restored = TinyTraining.Snapshot(model);
            TinyTraining.Run(model, optimizer, 2, 2, batch: 8);
            return TinyTraining.Snapshot(model);
        }

        var same = Resume(sameKind, out var sameRestored);
        var other = Resume(otherKind, out var otherRestored);
        var otherAgain = Resume(otherKind, out _);
        TinyTraining.AssertBitwiseEqual(sameRestored, otherRestored);
        TinyTraining.AssertBitwiseEqual(other, otherAgain);
        Assert.Contains(same.Keys, name => !same[name].SequenceEqual(other[name]));
    }

    [CudaFact]
    public void CudaIndexPastTheLastDevice_IsRefusedSayingHowManyThereAre()
    {
        var count = TorchRuntime.CudaDeviceCount;
        var e = Assert.Throws<TorchException>(() => Model.Create("mlp", TinyTraining.Shape, 10, seed: 0, device: $"cuda:{count}"));
        Assert.Equal(TorchErrorKind.DeviceUnavailable, e.Kind);
        Assert.Equal($"device 'cuda:{count}' requested but only {count} CUDA device(s) are visible", e.Message);
        using var bare = Model.Create("mlp", TinyTraining.Shape, 10, seed: 0, device: "cuda");
        Assert.Equal(Gpu, bare.Device); // "cuda" is cuda:0
    }

    [CudaFact]
    public void Model_OnCuda_TrainsAndEvaluatesThere_AsOnTheCpu()
    {
        TorchRuntime.SetNumThreads(1);
        using var gpu = Model.Create("cnn", TinyTraining.Shape, 10, seed: 5, device: Gpu);
        using var cpu = Model.Create("cnn", TinyTraining.Shape, 10, seed: 5);
        Assert.Equal(Gpu, gpu.Device);
        AssertClose(TinyTraining.Snapshot(cpu), TinyTraining.Snapshot(gpu), 0); // initialised on the host, then moved

        var opts = new OptimizerOptions { Kind = OptimizerKind.Sgd, LearningRate = 0.05, Momentum = 0.9 };
        using var gpuOpt = Optimizer.Create(gpu, opts);
        using var cpuOpt = Optimizer.Create(cpu, opts);
        TinyTraining.Run(gpu, gpuOpt, 0, 3, device: Gpu);
        TinyTraining.Run(cpu, cpuOpt, 0, 3, device: "cpu");
        AssertClose(TinyTraining.Snapshot(cpu), TinyTraining.Snapshot(gpu), 1e-3);

        // Evaluation takes host batches to the model's device.
        var data = Images(64, seed: 11);
        var onGpu = ModelEvaluation.Evaluate(gpu, data, Normalization.None, batchSize: 32);
        var onCpu = ModelEvaluation.Evaluate(cpu, data, Normalization.None, batchSize: 32);
        Assert.Equal(onCpu.Accuracy, onGpu.Accuracy, 0.05);
        Assert.Equal(onCpu.MeanLoss, onGpu.MeanLoss, 1e-2);
    }

    [CudaFact]
    public void Checkpoint_WrittenOnCuda_LoadsOnTheCpu_AndBack()
    {
        TorchRuntime.SetNumThreads(1);
        using var dir = new TempDirectory();
        var opts = new OptimizerOptions { Kind = OptimizerKind.Sgd, LearningRate = 0.05, Momentum = 0.9 };
        using var gpu = Model.Create("mlp", TinyTraining.Shape, 10, seed: 7, device: Gpu, options: new Dictionary<string, string> { ["dropout"] = "0.3" });
        using var gpuOpt = Optimizer.Create(gpu, opts);
        TinyTraining.Run(gpu, gpuOpt, 0, 3, device: Gpu);
        var fromGpu = dir.File("gpu.ckpt");
        Checkpoint.Save(fromGpu, gpu, gpuOpt, step: 3);

        // On the CPU: the model alone, and a model with its optimizer (momentum buffers mapped to the CPU).
        var (alone, step) = Checkpoint.LoadModel(fromGpu, "cpu");
        using (alone)
        {
            Assert.Equal((3L, "cpu"), (step, alone.Device));
            AssertClose(TinyTraining.Snapshot(gpu), TinyTraining.Snapshot(alone), 0);
        }

        using var cpu = Model.Create("mlp", TinyTraining.Shape, 10, seed: 99, options: new Dictionary<string, string> { ["dropout"] = "0.3" });
        using var cpuOpt = Optimizer.Create(cpu, opts);
        Assert.Equal(3, Checkpoint.Restore(fromGpu, cpu, cpuOpt));
        AssertClose(TinyTraining.Snapshot(gpu), TinyTraining.Snapshot(cpu), 0);
        cpu.Eval();
        gpu.Eval(); // no dropout: the two devices' streams differ by design, the weights do not
        TinyTraining.Run(cpu, cpuOpt, 3, 2, device: "cpu");
        TinyTraining.Run(gpu, gpuOpt, 3, 2, device: Gpu);
        AssertClose(TinyTraining.Snapshot(gpu), TinyTraining.Snapshot(cpu), 1e-3);

        // And back onto the GPU.
        var fromCpu = dir.File("cpu.ckpt");
        Checkpoint.Save(fromCpu, cpu, cpuOpt, step: 5);
        using var back = Model.Create("mlp", TinyTraining.Shape, 10, seed: 42, device: Gpu, options: new Dictionary<string, string> { ["dropout"] = "0.3" });
        using var backOpt = Optimizer.Create(back, opts);
        Assert.Equal(5, Checkpoint.Restore(fromCpu, back, backOpt));
        AssertClose(TinyTraining.Snapshot(cpu), TinyTraining.Snapshot(back), 0);
        TinyTraining.Run(back, backOpt, 5, 1, device: Gpu);
        TinyTraining.Run(cpu, cpuOpt, 5, 1, device: "cpu");
        AssertClose(TinyTraining.Snapshot(cpu), TinyTraining.Snapshot(back), 1e-3);
    }

    // Teachers' logits arrive in host memory (the exchange); the loss takes them (and host labels) to the student's device.
    [CudaFact]
    public void DistillationLoss_WithHostTeachers_OnACudaStudent_EqualsTheCpuLoss()
    {
        using var hostLogits = Tensor.Randn(1, 8, 10);
        using var teacherA = Tensor.Randn(2, 8, 10);
        using var teacherB = Tensor.Randn(3, 8, 10);
        using var hostLabels = Tensor.FromArray(Enumerable.Range(0, 8).Select(i => (long)i).ToArray(), 8);
        using var logits = hostLogits.To(Gpu);
        using var labels = hostLabels.To(Gpu);
        foreach (var form in new[] { TeacherForm.Pairwise, TeacherForm.Ensemble })
        {
            using var onCpu = DistillationLoss.Compute(hostLogits, hostLabels, [teacherA, teacherB], [1.0, 3.0], 4, 1, form, LossCombination.Additive);
            using var onGpu = DistillationLoss.Compute(logits, labels, [teacherA, teacherB], [1.0, 3.0], 4, 1, form, LossCombination.Additive);
            Assert.Equal(onCpu.Total.Item(), onGpu.Total.Item(), 1e-4);
            using var weights = Tensor.FromArray([1f, 3f, 2f, 2f, 0f, 1f, 1f, 0f, 5f, 1f, 1f, 1f, 2f, 1f, 1f, 2f], 8, 2);
            using var perSampleCpu = DistillationLoss.ComputePerSample(hostLogits, hostLabels, [teacherA, teacherB], weights, 4, 1, form, LossCombination.Additive);
            using var perSampleGpu = DistillationLoss.ComputePerSample(logits, labels, [teacherA, teacherB], weights, 4, 1, form, LossCombination.Additive);
            Assert.Equal(perSampleCpu.Total.Item(), perSampleGpu.Total.Item(), 1e-4);

            // Labels from host memory too (evaluation's cross-entropy takes them so).
            using var hostLabelsOnGpu = DistillationLoss.Compute(logits, hostLabels, [teacherA, teacherB], [1.0, 3.0], 4, 1, form, LossCombination.Additive);
            Assert.Equal(onCpu.Total.Item(), hostLabelsOnGpu.Total.Item(), 1e-4);
        }

        // The consensus of a federated round mixes the peer's own logits (on its device) with host ones.
        using var mean = Tensor.WeightedMean([logits, teacherA], []);
        using var expected = Tensor.WeightedMean([hostLogits, teacherA], []);
        Assert.Equal(Gpu, mean.Device);
        Assert.True(expected.ToFloatArray().Zip(mean.ToFloatArray(), (a, b) => Math.Abs(a - b)).Max() < 1e-6);
    }

    [CudaFact]
    public void CudaMemory_CountsTheTensorsOnTheDevice_AndResetsItsPeak()
    {
        TorchRuntime.CudaMemory(Gpu, resetPeaks: true);
        var before = TorchRuntime.CudaMemory(Gpu);
        using var model = Model.Create("resnet20", new InputShape(3, 32, 32), 10, seed: 1, device: Gpu);
        var after = TorchRuntime.CudaMemory(Gpu);
        var parameterBytes = model.ParameterCount * sizeof(float);
        Assert.True(after.AllocatedBytes - before.AllocatedBytes >= parameterBytes, $"{before} -> {after}, parameters {parameterBytes} B");
        Assert.True(after.PeakAllocatedBytes >= after.AllocatedBytes && after.ReservedBytes >= after.AllocatedBytes, after.ToString());

        TorchRuntime.CudaMemory(Gpu, resetPeaks: true);
        var reset = TorchRuntime.CudaMemory(Gpu);
        Assert.Equal(reset.AllocatedBytes, reset.PeakAllocatedBytes);
    }

    private static InMemoryDataset Images(int count, long seed)
    {
        using var x = Tensor.Randn(seed, count, 1, 28, 28);
        var labels = Enumerable.Range(0, count).Select(i => i % 10).ToArray();
        return new InMemoryDataset("random", x.ToFloatArray(), labels, TinyTraining.Shape, 10);
    }

    private static void AssertClose(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual, double tolerance)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, values) in expected)
        {
            var other = actual[name];
            Assert.Equal(values.Length, other.Length);
            for (var i = 0; i < values.Length; i++)
            {
                if (Math.Abs(values[i] - other[i]) > tolerance * Math.Max(1, Math.Abs(values[i])))
                {
                    Assert.Fail($"{name}[{i}]: {values[i]:R} vs {other[i]:R} (tolerance {tolerance})");
                }
            }
        }
    }
}
