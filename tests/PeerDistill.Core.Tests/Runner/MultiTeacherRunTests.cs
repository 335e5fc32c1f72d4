using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>
/// Multi-teacher cohorts end to end in the embedded runner: a frozen teacher (a resnet8 with batch
/// norm, from a checkpoint made here) next to a live peer and a student.
/// </summary>
public sealed class MultiTeacherRunTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _checkpoint;

    public MultiTeacherRunTests()
    {
        _checkpoint = Path.Combine(_dir.Path, "teacher.ckpt");
        using var teacher = Model.Create("resnet8", new InputShape(1, 28, 28), 10, seed: 9, options: TeacherOptions);
        // A few training-mode passes move the batch-norm statistics away from their initial values,
        // so that a teacher run in training mode by mistake would change them again.
        using var x = Tensor.Randn(4, 16, 1, 28, 28);
        for (var i = 0; i < 3; i++)
        {
            using var _ = teacher.Forward(x);
        }

        Checkpoint.Save(_checkpoint, teacher, optimizer: null, step: 0);
    }

    private static Dictionary<string, string> TeacherOptions => new() { ["width"] = "0.25" };

    /// <summary>The cohort; with <paramref name="hint"/> the student is a cnn with a hint from the teacher's layer3 to its conv2 (both 7x7).</summary>
    private CohortSpec Spec(string weighting, bool hint = false)
    {
        var spec = TestSpecs.Synthetic(
            Path.Combine(_dir.Path, weighting + (hint ? "-hint" : string.Empty)),
            strategy: "multi-teacher",
            epochs: 1,
            peers:
            [
                new PeerSpec { Name = "t", Model = "resnet8", ModelOptions = TeacherOptions, Frozen = true, Checkpoint = _checkpoint, Seed = 0 },
                TestSpecs.Peer("p", "mlp", 2),
                TestSpecs.Peer("s", hint ? "cnn" : "mlp", 3),
            ]);
        return spec with
        {
            Distillation = spec.Distillation with
            {
                Weighting = weighting,
                Teachers = new Dictionary<string, IReadOnlyList<string>> { ["t"] = [], ["p"] = ["t"], ["s"] = ["t", "p"] },
                Hint = hint ? new HintSpec { Teacher = "t", TeacherLayer = "layer3", StudentLayer = "conv2", Students = ["s"], Weight = 0.5 } : null,
            },
        };
    }

    [Fact]
    public void FrozenTeacher_NeverChanges_TeachesEveryStep_AndStudentsLogTheirWeights()
    {
        var spec = Spec("correctness");
        var observer = new RecordingObserver();
        var result = CohortExperiment.Run(spec, new ExperimentOptions(), observer, new StopControl());

        Assert.All(result.Distilled.Peers, p => Assert.Equal(PeerStatus.Completed, p.Status));
        var data = CohortData.Load(spec.Data);
        using var untouched = PeerModels.Build(spec.Peers[0], data.Shape, data.Classes);
        var expected = ModelEvaluation.Evaluate(untouched, data.Test, data.Normalization, spec.Evaluation.BatchSize);
        var teacher = result.Distilled.Peers.Single(p => p.Peer == "t");
        Assert.Equal(expected.Accuracy, teacher.TestAccuracy);
        Assert.Equal(expected.MeanLoss, teacher.TestLoss);

        var steps = observer.Steps.ToList();
        Assert.All(steps.Where(s => s.Peer == "t"), s =>
        {
            Assert.Equal(0, s.LearningRate);
            Assert.Equal(0, s.Distillation);
            Assert.Equal(s.CrossEntropy, s.Loss);
            Assert.Null(s.TeacherWeights);
        });
        var student = steps.Where(s => s.Peer == "s").ToList();
        Assert.Equal(data.TotalSteps, student.Count);
        Assert.All(student, s =>
        {
            Assert.Equal(2, s.Teachers);
            Assert.Equal(["p", "t"], s.TeacherWeights!.Keys.Order());
            Assert.Equal(1.0, s.TeacherWeights.Values.Sum(), 9);
        });
        // Per-sample weights move from step to step.
        Assert.True(student.Select(s => s.TeacherWeights!["t"]).Distinct().Count() > 1);
        Assert.All(steps.Where(s => s.Peer == "p"), s => Assert.Equal(1.0, s.TeacherWeights!["t"]));
        var summaryWeights = result.Distilled.Peers.Single(p => p.Peer == "s").TeacherWeights!;
        Assert.Equal(student.Average(s => s.TeacherWeights!["t"]), summaryWeights["t"], 12);
        Assert.Null(teacher.TeacherWeights);
    }

    [Fact]
    public void ValidationAccuracy_WeighsTeachersByTheirAccuracyAtTheStart()
    {
        var spec = Spec("validation-accuracy");
        var observer = new RecordingObserver();
        CohortExperiment.Run(spec, new ExperimentOptions(), observer, new StopControl());

        // Measured here independently: the frozen teacher from its checkpoint, the live peer from its seed.
        var data = CohortData.Load(spec.Data);
        using var t = PeerModels.Build(spec.Peers[0], data.Shape, data.Classes);
        using var p = Model.Create("mlp", data.Shape, data.Classes, seed: 2, options: spec.Peers[1].ModelOptions);
        var at = ModelEvaluation.Evaluate(t, data.Evaluation, data.Normalization).Accuracy;
        var ap = ModelEvaluation.Evaluate(p, data.Evaluation, data.Normalization).Accuracy;
        Assert.All(observer.Steps.Where(s => s.Peer == "s"), s =>
        {
            Assert.Equal(at / (at + ap), s.TeacherWeights!["t"], 12);
            Assert.Equal(ap / (at + ap), s.TeacherWeights["p"], 12);
        });
    }

    [Fact]
    public void Baseline_TrainsTheLivePeersAlone_AndTheFrozenTeacherIsTheSame()
    {
        var spec = Spec("entropy");
        var result = CohortExperiment.Run(spec, new ExperimentOptions { Baseline = true }, new RecordingObserver(), new StopControl());

        var baseline = result.Baseline!.Peers.ToDictionary(p => p.Peer);
        var distilled = result.Distilled.Peers.ToDictionary(p => p.Peer);
        Assert.Equal(baseline["t"].TestAccuracy, distilled["t"].TestAccuracy);
        Assert.NotEqual(baseline["s"].TestLoss, distilled["s"].TestLoss);
        Assert.Null(baseline["s"].TeacherWeights);
        Assert.True(File.Exists(result.SummaryPath));
        Assert.Contains("\"teacher_weights\"", File.ReadAllText(result.SummaryPath), StringComparison.Ordinal);
    }

    [Fact]
    public void InterruptedThenResumed_EndsAsAnUninterruptedRun_FrozenTeacherIncluded()
    {
        var spec = Spec("entropy", hint: true) with { Checkpoints = new CheckpointSpec { EverySteps = 10, KeepLast = 2 } };
        var uninterrupted = new RecordingObserver();
        var expected = CohortExperiment.Run(spec, new ExperimentOptions(), uninterrupted, new StopControl());

        var split = spec with { Output = Path.Combine(_dir.Path, "split") };
        var stop = new StopControl();
        stop.StopAt(23);
        var interrupted = CohortExperiment.Run(split, new ExperimentOptions(), new RecordingObserver(), stop);
        Assert.True(interrupted.Interrupted);
        Assert.All(interrupted.Distilled.Peers, p => Assert.Equal(23, p.StepsCompleted));

        var resumed = new RecordingObserver();
        var actual = CohortExperiment.Run(split, new ExperimentOptions { Resume = true }, resumed, new StopControl());
        Assert.Equal(23, actual.Distilled.ResumedFromStep);
        Assert.Equal(expected.Distilled.Peers.Select(p => p.TestAccuracy), actual.Distilled.Peers.Select(p => p.TestAccuracy));
        var all = uninterrupted.Losses();
        Assert.NotEmpty(resumed.Losses());
        foreach (var (key, value) in resumed.Losses())
        {
            Assert.Equal(all[key], value);
        }

        var weights = uninterrupted.Steps.Where(s => s.Peer == "s").ToDictionary(s => s.Step, s => (s.TeacherWeights!["t"], s.Hint));
        Assert.All(resumed.Steps.Where(s => s.Peer == "s"), s => Assert.Equal(weights[s.Step], (s.TeacherWeights!["t"], s.Hint)));
    }

    [Fact]
    public void Hint_IsANamedTermOfTheLoss_AndItsProjectionLearns()
    {
        var spec = Spec("uniform", hint: true);
        var observer = new RecordingObserver();
        var result = CohortExperiment.Run(spec, new ExperimentOptions(), observer, new StopControl());

        Assert.All(result.Distilled.Peers, p => Assert.Equal(PeerStatus.Completed, p.Status));
        var student = observer.Steps.Where(s => s.Peer == "s").OrderBy(s => s.Step).ToList();
        Assert.All(student, s =>
        {
            Assert.NotNull(s.Hint);
            // total = CE + alpha KD + 0.5 hint (alpha 1, no warm-up)
            // Within 1e-5 (a float32 loss against the sum of its float32 terms in double): rounding both to
            // 5 places failed on a value near a rounding boundary (2.32306490 vs 2.32306504).
            Assert.Equal(s.CrossEntropy + s.Distillation + (0.5 * s.Hint!.Value), s.Loss, tolerance: 1e-5);
        });
        Assert.True(student[^1].Hint < student[0].Hint * 0.8, $"hint went from {student[0].Hint} to {student[^1].Hint}");
        Assert.All(observer.Steps.Where(s => s.Peer != "s"), s => Assert.Null(s.Hint));

        // The projection is the student's: in its checkpoints.
        var checkpoint = Directory.GetFiles(Path.Combine(spec.Output!, "checkpoints", "multi-teacher", "s"), "*.ckpt").Single();
        var (model, _) = Checkpoint.LoadModel(checkpoint);
        using (model)
        {
            var state = model.State();
            Assert.Contains(state, e => e.Name == "hint_projection.weight" && e.Tensor.Shape.SequenceEqual(new long[] { 16, 64, 1, 1 }));
            state.ToList().ForEach(e => e.Dispose());
        }
    }

    public void Dispose() => _dir.Dispose();
}
