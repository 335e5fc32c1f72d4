using PeerDistill.Core.Spec;
using Xunit;
using static PeerDistill.Core.Tests.Spec.SpecText;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>Valid specs: values read, defaults applied, teachers completed, model files resolved.</summary>
public class SpecLoaderTests
{
    [Fact]
    public void MinimalSpec_GetsEveryDefault()
    {
        var result = Parse(Minimal);

        Assert.True(result.IsValid, result.ToString());
        Assert.Empty(result.Errors);
        var spec = result.Spec;
        Assert.Equal("demo", spec.Cohort);
        Assert.Equal(Path.Combine("runs", "demo"), spec.Output);
        Assert.Equal("spec.yaml", spec.SourcePath);
        Assert.Equal(new DistillationSpec().Strategy, spec.Distillation.Strategy);
        Assert.Equal(1.0, spec.Distillation.Temperature);
        Assert.Equal(new EvaluationSpec(), spec.Evaluation);
        Assert.Equal(new CheckpointSpec(), spec.Checkpoints);
        Assert.Null(spec.Tracing);
        Assert.Equal(PeerDistill.Core.Telemetry.TraceSampling.Default, PeerDistill.Core.Runner.PeerLoopOptions.For(spec, "r").Tracing);
        Assert.Equal(new DataSpec(), spec.Data);

        Assert.Equal(["a", "b"], spec.Peers.Select(p => p.Name));
        Assert.Equal([0L, 1L], spec.Peers.Select(p => p.Seed));
        var a = spec.Peers[0];
        Assert.Equal("mlp", a.Model);
        Assert.Empty(a.ModelOptions);
        Assert.Equal(new OptimizerSpec(), a.Optimizer);
        Assert.Equal(new ScheduleSpec(), a.Schedule);
        Assert.Equal("cpu", a.Device);
        Assert.Equal(1, a.Threads);
    }

    [Fact]
    public void MinimalSpec_TeachersDefaultToAllToAllWithUnitWeights()
    {
        var spec = Parse(Minimal.Replace("data:", "  - name: c\n    model: mlp\ndata:", StringComparison.Ordinal)).Spec!;

        var teachers = spec.Distillation.Teachers!;
        Assert.Equal(["b", "c"], teachers["a"]);
        Assert.Equal(["a", "c"], teachers["b"]);
        Assert.Equal(["a", "b"], teachers["c"]);
        Assert.All(spec.Distillation.Weights!.Values, w => Assert.Equal(1.0, w));
        Assert.Equal(3, spec.Distillation.Weights!.Count);
    }

    [Fact]
    public void PartialTeachers_ListedAsGivenAndTheRestAllToAll()
    {
        var yaml = Minimal.Replace("data:", "  - name: c\n    model: mlp\ndata:", StringComparison.Ordinal) +
                   "distillation:\n  teachers: {a: [c], c: []}\n  weights: {b: 0.5}\n";

        var spec = Parse(yaml).Spec!;

        Assert.Equal(["c"], spec.Distillation.Teachers!["a"]);
        Assert.Equal(["a", "c"], spec.Distillation.Teachers!["b"]);
        Assert.Empty(spec.Distillation.Teachers!["c"]);
        Assert.Equal(0.5, spec.Distillation.Weights!["b"]);
        Assert.Equal(1.0, spec.Distillation.Weights!["a"]);
    }

    [Fact]
    public void FullSpec_ReadsEveryValue()
    {
        var result = Parse(Full);

        Assert.True(result.IsValid, result.ToString());
        var spec = result.Spec;
        Assert.Equal("full.cohort-1", spec.Cohort);
        Assert.Equal("out/full", spec.Output);

        var a = spec.Peers[0];
        Assert.Equal(new Dictionary<string, string> { ["widths"] = "64,32", ["dropout"] = "0.1" }, a.ModelOptions);
        Assert.Equal(
            new OptimizerSpec { Kind = "sgd", LearningRate = 0.1, Momentum = 0.8, Nesterov = true, WeightDecay = 0.0001, Beta1 = 0.8, Beta2 = 0.99, Epsilon = 1e-7 },
            a.Optimizer);
        Assert.Equal(new ScheduleSpec { Kind = "step", WarmupSteps = 10, StepSize = 100, Gamma = 0.5, MinLearningRate = 0.001 }, a.Schedule);
        Assert.Equal((42L, 2), (a.Seed, a.Threads));
        Assert.Equal(1L, spec.Peers[1].Seed);
        Assert.Equal("adamw", spec.Peers[1].Optimizer.Kind);
        Assert.Equal(0.001, spec.Peers[1].Optimizer.LearningRate);
        Assert.Equal(new OptimizerSpec().Momentum, spec.Peers[1].Optimizer.Momentum);

        var d = spec.Distillation;
        Assert.Equal(("dml", 3.0, 0.5, 50L), (d.Strategy, d.Temperature, d.Alpha, d.AlphaWarmupSteps));
        Assert.Equal(("ensemble", "convex", 0.1), (d.Teacher, d.Combine, d.LabelSmoothing));
        Assert.Equal(["b"], d.Teachers!["a"]);
        Assert.Empty(d.Teachers!["b"]);
        Assert.Equal(2.0, d.Weights!["a"]);

        Assert.Equal(
            new DataSpec
            {
                Dataset = "synthetic", Path = "/tmp/data", BatchSize = 64, Epochs = 3, TrainSubset = 1000, ValidationSplit = 0.1, Seed = 7,
                CropPadding = 2, HorizontalFlip = true, SyntheticTrainCount = 500, SyntheticTestCount = 100, SyntheticNoise = 0.25, SyntheticClasses = 5,
            },
            spec.Data);
        Assert.Equal(new EvaluationSpec { EverySteps = 20, AtEpochEnd = false, BatchSize = 250 }, spec.Evaluation);
        Assert.Equal(new CheckpointSpec { Directory = "ckpt", EverySteps = 200, KeepLast = 3 }, spec.Checkpoints);
        Assert.Equal(new TracingSpec { EverySteps = 50, SlowerThanMs = 250 }, spec.Tracing);
        Assert.Equal(new PeerDistill.Core.Telemetry.TraceSampling(50, 250), PeerDistill.Core.Runner.PeerLoopOptions.For(spec, "r").Tracing);
    }

    [Fact]
    public void JsonSpec_ReadsLikeYaml()
    {
        const string json = """
            {
              "cohort": "json-demo",
              "peers": [
                {"name": "a", "model": "mlp", "model_options": {"widths": [32]}, "optimizer": {"kind": "adam", "betas": [0.8, 0.9]}},
                {"name": "b", "model": "cnn", "seed": -3, "device": "cuda:1"}
              ],
              "distillation": {"temperature": 2.5, "teachers": {"a": ["b"]}},
              "data": {"dataset": "synthetic", "synthetic": {"classes": 3}, "augmentation": {"horizontal_flip": true}},
              "evaluation": {"at_epoch_end": false},
              "output": null
            }
            """;

        var result = SpecLoader.Parse(json, "spec.json");

        Assert.True(result.IsValid, result.ToString());
        var spec = result.Spec;
        Assert.Equal("json-demo", spec.Cohort);
        Assert.Equal("32", spec.Peers[0].ModelOptions["widths"]);
        Assert.Equal(("adam", 0.8, 0.9), (spec.Peers[0].Optimizer.Kind, spec.Peers[0].Optimizer.Beta1, spec.Peers[0].Optimizer.Beta2));
        Assert.Equal((-3L, "cuda:1"), (spec.Peers[1].Seed, spec.Peers[1].Device));
        Assert.Equal(2.5, spec.Distillation.Temperature);
        Assert.Equal(["b"], spec.Distillation.Teachers!["a"]);
        Assert.Equal(["a"], spec.Distillation.Teachers!["b"]);
        Assert.Equal(3, spec.Data.SyntheticClasses);
        Assert.True(spec.Data.HorizontalFlip);
        Assert.False(spec.Evaluation.AtEpochEnd);
        Assert.Equal(Path.Combine("runs", "json-demo"), spec.Output);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("cuda")]
    [InlineData("cuda:0")]
    [InlineData("cuda:12")]
    public void DeviceSyntax_IsAcceptedWithoutHardware(string device)
    {
        var result = Parse(WithPeerA($"device: '{device}'"));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(device, result.Spec.Peers[0].Device);
    }

    [Fact]
    public void SyntheticClasses_AreTheModelsOutputWidth()
    {
        // 3 classes builds; the zoo refuses fewer than 2, which the range check catches first.
        var result = Parse(Minimal.Replace("dataset: fashion-mnist", "dataset: synthetic\n  synthetic: {classes: 3}", StringComparison.Ordinal));

        Assert.True(result.IsValid, result.ToString());
    }

    [Theory]
    [InlineData("resnet8", "{width: 2}")]
    [InlineData("mobilenetv2", "{width: 0.5, dropout: 0.2}")]
    [InlineData("cnn", "{hidden: 64}")]
    public void ZooModelOptions_AreCheckedByBuildingTheModel(string model, string options)
    {
        var result = Parse(Minimal.Replace("model: cnn", $"model: {model}\n    model_options: {options}", StringComparison.Ordinal));

        Assert.True(result.IsValid, result.ToString());
    }

    [Fact]
    public void TorchScriptPath_ResolvesAgainstTheSpecDirectory()
    {
        using var dir = new TempSpecDirectory();
        var model = dir.Write(Path.Combine("models", "net.pt"), "not read by the loader");
        var specPath = dir.Write(Path.Combine("specs", "cohort.yaml"), Minimal.Replace("model: cnn", "model: ../models/net.pt", StringComparison.Ordinal));

        var result = SpecLoader.Load(specPath);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(Path.GetFullPath(model), result.Spec.Peers[1].Model);
        Assert.Equal(specPath, result.Spec.SourcePath);
    }

    [Fact]
    public void TorchScriptPath_InParse_ResolvesAgainstTheSourceNamesDirectory()
    {
        using var dir = new TempSpecDirectory();
        var model = dir.Write("net.ts", string.Empty);

        var result = SpecLoader.Parse(Minimal.Replace("model: cnn", "model: net.ts", StringComparison.Ordinal), Path.Combine(dir.Path, "spec.yaml"));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(model, result.Spec.Peers[1].Model);
    }

    [Fact]
    public void TorchScriptWithModelOptions_IsAnError()
    {
        using var dir = new TempSpecDirectory();
        dir.Write("net.pth", string.Empty);
        var yaml = Minimal.Replace("model: cnn", "model: net.pth\n    model_options: {width: 2}", StringComparison.Ordinal);

        var error = Assert.Single(SpecLoader.Parse(yaml, Path.Combine(dir.Path, "spec.yaml")).Errors);

        Assert.Equal("peers[1].model_options", error.Path);
        Assert.Contains("only for zoo models", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KnownStrategies_AreDmlNoneFedMdFedDfAndMultiTeacher()
    {
        Assert.Equal(["dml", "none", "fedmd", "feddf", "multi-teacher"], SpecLoader.KnownStrategies);
        Assert.True(Parse(With("distillation: {strategy: none}")).IsValid);
    }

    [Fact]
    public void NullValues_MeanTheDefault()
    {
        var result = Parse(With("distillation:\nevaluation: {batch_size: ~}\noutput: null"));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(new EvaluationSpec().BatchSize, result.Spec.Evaluation.BatchSize);
    }
}
