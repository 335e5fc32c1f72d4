using PeerDistill.Core.Spec;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>
/// The spec of multi-teacher distillation: frozen teachers (peers[i].frozen, peers[i].checkpoint,
/// a .ckpt model) and distillation.weighting; each misuse gives one error naming its path.
/// </summary>
public sealed class MultiTeacherSpecTests : IDisposable
{
    private readonly TempSpecDirectory _dir = new();

    public MultiTeacherSpecTests()
    {
        using var cnn = Model.Create("cnn", new InputShape(1, 28, 28), 10, seed: 5, options: new Dictionary<string, string> { ["hidden"] = "16" });
        Checkpoint.Save(Path.Combine(_dir.Path, "cnn16.ckpt"), cnn, optimizer: null, step: 7);
        using var mlp = Model.Create("mlp", new InputShape(1, 28, 28), 10, seed: 5, options: new Dictionary<string, string> { ["widths"] = "8" });
        Checkpoint.Save(Path.Combine(_dir.Path, "mlp8.ckpt"), mlp, optimizer: null, step: 3);
        mlp.ExportTorchScript(Path.Combine(_dir.Path, "mlp8.pt"));
    }

    /// <summary>A frozen cnn from a checkpoint, a live peer and a student; <paramref name="distillation"/> and <paramref name="extra"/> added.</summary>
    private static string Cohort(string distillation = "strategy: multi-teacher", string teacher = "{name: t, model: cnn, model_options: {hidden: 16}, frozen: true, checkpoint: cnn16.ckpt}", string extra = "") => $$$"""
        cohort: mt
        peers:
          - {{{teacher}}}
          - {name: p, model: mlp, model_options: {widths: [16]}}
          - {name: s, model: mlp, model_options: {widths: [8]}}
        distillation: { {{{distillation}}} }
        data: {dataset: synthetic, synthetic: {train_count: 100, test_count: 50}}
        {{{extra}}}
        """;

    private SpecLoadResult Parse(string yaml) => SpecLoader.Load(_dir.Write("spec.yaml", yaml));

    [Fact]
    public void FrozenTeacherFromACheckpoint_IsReadWithItsPath_AndLearnsFromNobodyByDefault()
    {
        var result = Parse(Cohort());

        Assert.True(result.IsValid, result.ToString());
        var spec = result.Spec!;
        var t = spec.Peers[0];
        Assert.True(t.Frozen);
        Assert.Equal(Path.Combine(_dir.Path, "cnn16.ckpt"), t.Checkpoint);
        Assert.False(spec.Peers[1].Frozen);
        Assert.Null(spec.Peers[1].Checkpoint);
        Assert.Equal("multi-teacher", spec.Distillation.Strategy);
        Assert.Equal("uniform", spec.Distillation.Weighting);
        Assert.Equal(1.0, spec.Distillation.WeightingTemperature);
        var teachers = spec.Distillation.Teachers!;
        Assert.Empty(teachers["t"]);
        Assert.Equal(["t", "s"], teachers["p"]);
        Assert.Equal(["t", "p"], teachers["s"]);
    }

    [Theory]
    [InlineData("mlp8.ckpt")]
    [InlineData("mlp8.pt")]
    public void FrozenTeacherAsAModelFile_NeedsNoCheckpoint(string file)
    {
        var result = Parse(Cohort(teacher: $"{{name: t, model: {file}, frozen: true}}"));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(Path.Combine(_dir.Path, file), result.Spec!.Peers[0].Model);
    }

    [Theory]
    [InlineData("weighting: entropy, weighting_temperature: 0.5")]
    [InlineData("weighting: correctness")]
    [InlineData("weighting: validation-accuracy")]
    [InlineData("weighting: fixed, weights: {t: 3, p: 1}")]
    public void EveryWeighting_IsAccepted(string weighting)
    {
        var result = Parse(Cohort($"strategy: multi-teacher, {weighting}"));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(weighting.Split(',')[0]["weighting: ".Length..], result.Spec!.Distillation.Weighting);
    }

    public static TheoryData<string, string, string> Misuses() => new()
    {
        { Cohort(teacher: "{name: t, model: cnn, frozen: true}"), "peers[0].checkpoint", "a frozen zoo model needs trained weights" },
        { Cohort(teacher: "{name: t, model: cnn, model_options: {hidden: 16}, frozen: true, checkpoint: none.ckpt}"), "peers[0].checkpoint", "none.ckpt' not found" },
        { Cohort(teacher: "{name: t, model: cnn, checkpoint: cnn16.ckpt}"), "peers[0].checkpoint", "only for a frozen peer (frozen: true)" },
        { Cohort(teacher: "{name: t, model: mlp8.pt, frozen: true, checkpoint: cnn16.ckpt}"), "peers[0].checkpoint", "only for a zoo model" },
        { Cohort(teacher: "{name: t, model: resnet8, frozen: true, checkpoint: cnn16.ckpt}"), "peers[0].checkpoint", "cannot load the frozen teacher: checkpoint" },
        { Cohort(teacher: "{name: t, model: cnn, frozen: true, checkpoint: cnn16.ckpt}"), "peers[0].checkpoint", "cannot load the frozen teacher" },
        { Cohort(teacher: "{name: t, model: missing.ckpt, frozen: true}"), "peers[0].model", "missing.ckpt' not found" },
        { Cohort(teacher: "{name: t, model: cnn, model_options: {hidden: 16}, frozen: true, checkpoint: cnn16.ckpt, optimizer: {lr: 0.1}}"), "peers[0].optimizer", "a frozen peer does not train" },
        { Cohort("strategy: multi-teacher, teachers: {t: [p]}"), "distillation.teachers.t", "peer 't' is frozen: it learns from nobody" },
        { Cohort("strategy: multi-teacher, teachers: {s: [x]}"), "distillation.teachers.s[0]", "unknown peer 'x'" },
        { Cohort("strategy: multi-teacher, weights: {t: 2}"), "distillation.weights", "only for weighting fixed (weighting is uniform)" },
        { Cohort("strategy: multi-teacher, weighting: fixed"), "distillation.weighting", "fixed needs distillation.weights" },
        { Cohort("strategy: multi-teacher, weighting: fixed, weights: {t: 0, p: 1}, teachers: {p: [t]}"), "distillation.weights", "the teachers of 'p' (t) all have weight 0" },
        { Cohort("strategy: multi-teacher, weighting: loudest"), "distillation.weighting", "unknown weighting 'loudest' (known: uniform, fixed, entropy, correctness, validation-accuracy)" },
        { Cohort("strategy: multi-teacher, weighting: uniform, weighting_temperature: 2"), "distillation.weighting_temperature", "only for weighting entropy or correctness" },
        { Cohort("strategy: multi-teacher, weighting: entropy, weighting_temperature: 0"), "distillation.weighting_temperature", "must be in [0.01, 100], got 0" },
        { Cohort("strategy: none, weighting: entropy"), "distillation.weighting", "only for strategy multi-teacher" },
        { Cohort("strategy: dml"), "distillation.strategy", "frozen peers (t) need strategy multi-teacher (or none), not dml" },
        { Cohort("strategy: multi-teacher, teachers: {p: [], s: []}"), "distillation.strategy", "multi-teacher needs a student" },
        { Cohort("strategy: multi-teacher, weighting: correctness", extra: "exchange: {mode: bounded-staleness}"), "distillation.weighting", "per-sample weighting (correctness) needs exchange.mode synchronous" },
        { Cohort(teacher: "{name: t, model: cnn, model_options: {hidden: 16}, frozen: maybe, checkpoint: cnn16.ckpt}"), "peers[0].frozen", "expected true or false, got 'maybe'" },
        { Cohort("strategy: none, hint: {teacher: t, teacher_layer: fc1, student_layer: fc0}"), "distillation.hint", "only for strategy multi-teacher" },
        { Cohort("strategy: multi-teacher, hint: {teacher: p, teacher_layer: fc0, student_layer: fc0}"), "distillation.hint.teacher", "peer 'p' is live: a hint needs the teacher's intermediate output on each student's side" },
        { Cohort("strategy: multi-teacher, hint: {teacher: z, teacher_layer: fc0, student_layer: fc0}"), "distillation.hint.teacher", "unknown peer 'z'" },
        { Cohort("strategy: multi-teacher, teachers: {p: [s], s: [p]}, hint: {teacher: t, teacher_layer: fc1, student_layer: fc0}"), "distillation.hint.teacher", "no student learns from 't'" },
        { Cohort("strategy: multi-teacher, hint: {teacher: t, teacher_layer: conv9, student_layer: fc0}"), "distillation.hint.teacher_layer", "the teacher's model has no output 'conv9' (its outputs: conv1, conv2, fc1)" },
        { Cohort("strategy: multi-teacher, teachers: {p: [t], s: [p]}, hint: {teacher: t, teacher_layer: fc1, student_layer: fc3}"), "distillation.hint.student_layer", "student 'p''s model has no output 'fc3' (its outputs: fc0)" },
        { Cohort("strategy: multi-teacher, teachers: {p: [t], s: [p]}, hint: {teacher: t, teacher_layer: conv2, student_layer: fc0}"), "distillation.hint.student_layer", "they need the same rank and height and width" },
        { Cohort("strategy: multi-teacher, hint: {teacher: t, teacher_layer: fc1, student_layer: fc0}", extra: "exchange: {mode: bounded-staleness}"), "distillation.hint", "needs exchange.mode synchronous" },
        { Cohort("strategy: multi-teacher, hint: {teacher: t, teacher_layer: fc1, student_layer: fc0, weight: -1}"), "distillation.hint.weight", "must be in [0, 1000], got -1" },
        { Cohort("strategy: multi-teacher, hint: {teacher: t, student_layer: fc0}"), "distillation.hint.teacher_layer", "missing required field" },
        { Cohort("strategy: multi-teacher, teachers: {p: [s]}, hint: {teacher: t, teacher_layer: fc1, student_layer: fc0, students: [s, p]}"), "distillation.hint.students[1]", "'p' does not learn from 't'" },
        { Cohort("strategy: multi-teacher, hint: {teacher: t, teacher_layer: fc1, student_layer: fc0, students: [q]}"), "distillation.hint.students[0]", "unknown peer 'q'" },
    };

    [Theory]
    [MemberData(nameof(Misuses))]
    public void Misuse_ReportsOneErrorAtItsPath(string yaml, string path, string message)
    {
        var result = Parse(yaml);

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line >= 1 && error.Column >= 1, $"no position: {error}");
    }

    [Fact]
    public void Hint_IsRead()
    {
        var result = Parse(Cohort("strategy: multi-teacher, hint: {teacher: t, teacher_layer: fc1, student_layer: fc0, weight: 0.5}"));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(new HintSpec { Teacher = "t", TeacherLayer = "fc1", StudentLayer = "fc0", Weight = 0.5 }, result.Spec!.Distillation.Hint);
    }

    [Fact]
    public void FrozenTeacherOfTheWrongClassCount_IsRefused()
    {
        var yaml = Cohort(teacher: "{name: t, model: mlp8.ckpt, frozen: true}")
            .Replace("synthetic: {train_count: 100, test_count: 50}", "synthetic: {train_count: 100, test_count: 50, classes: 4}", StringComparison.Ordinal);

        var error = Assert.Single(Parse(yaml).Errors);

        Assert.Equal("peers[0].model", error.Path);
        Assert.Contains("the data set has 4 classes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutTheEngine_FrozenTeacherFilesAreStillChecked()
    {
        var spec = _dir.Write("spec.yaml", Cohort(teacher: "{name: t, model: cnn, frozen: true, checkpoint: gone.ckpt}"));

        var result = SpecLoader.ParseWithoutEngine(File.ReadAllText(spec), spec);

        var error = Assert.Single(result.Errors);
        Assert.Equal("peers[0].checkpoint", error.Path);
        Assert.Contains("gone.ckpt' not found", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
