using System.Globalization;
using System.Text.Json;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;

namespace PeerDistill.Bench;

/// <summary>
/// examples/fashion-multi-teacher.yaml over several seeds, in three cohorts per seed: the student
/// alone (strategy none), the student with the frozen teacher, and the student with the frozen
/// teacher and the live peer (the example as written), the same with uniform weights, and the
/// student with the frozen teacher and a hint term. Seed k shifts the live peers' seeds by
/// 100 k and sets the data seed (subset, batch order) to k; the frozen teacher is the same file in
/// every run. Prints the table and writes bench/reports/multi-teacher.json.
/// </summary>
internal static class MultiTeacherBenchmark
{
    private const string Student = "student";
    private const string Teacher = "teacher";
    private const string Peer = "peer";

    /// <summary>The hint of the "+ hint" cohort: the teacher cnn's fc1 (128 wide) taught to the student mlp's fc0 (128 wide) through a linear projection.</summary>
    private static readonly HintSpec Hint = new() { Teacher = Teacher, TeacherLayer = "fc1", StudentLayer = "fc0", Weight = 1 };

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var root = EngineBenchmark.FindRepoRoot();
        var specPath = a.String("spec", Path.Combine(root, "examples", "fashion-multi-teacher.yaml"));
        var seeds = a.Int("seeds", 3);
        var output = a.String("output", Path.Combine(root, "runs", "multi-teacher-bench"));
        var report = a.String("report", Path.Combine(root, "bench", "reports", "multi-teacher.json"));
        var loaded = SpecLoader.Load(specPath);
        if (!loaded.IsValid)
        {
            loaded.Errors.ToList().ForEach(e => Console.Error.WriteLine(e.ToString()));
            Console.Error.WriteLine("(train the teacher first: see the comment at the top of the spec)");
            return 2;
        }

        var spec = loaded.Spec!;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Console.WriteLine($"multi-teacher: {specPath}, {seeds} seeds; student alone, with the frozen teacher, with the frozen teacher and the live peer");
        var rows = new List<Row>();
        for (var k = 0; k < seeds; k++)
        {
            var seeded = spec with
            {
                Peers = spec.Peers.Select(p => p.Frozen ? p : p with { Seed = p.Seed + (100 * k) }).ToList(),
                Data = spec.Data with { Seed = k },
                Checkpoints = spec.Checkpoints with { Directory = null },
            };
            var alone = Run(Only(seeded, [Student]) with { Distillation = seeded.Distillation with { Strategy = "none" } }, Path.Combine(output, $"seed-{k}", "alone"));
            var frozen = Run(Only(seeded, [Teacher, Student]), Path.Combine(output, $"seed-{k}", "frozen"));
            var teacherOnly = Only(seeded, [Teacher, Student]);
            var hinted = Run(teacherOnly with { Distillation = teacherOnly.Distillation with { Hint = Hint } }, Path.Combine(output, $"seed-{k}", "frozen-hint"));
            var both = Run(seeded, Path.Combine(output, $"seed-{k}", "both"));
            var uniform = Run(seeded with { Distillation = seeded.Distillation with { Weighting = "uniform" } }, Path.Combine(output, $"seed-{k}", "both-uniform"));
            var row = new Row(
                k,
                Accuracy(alone, Student),
                Accuracy(frozen, Student),
                Accuracy(hinted, Student),
                Accuracy(both, Student),
                Accuracy(uniform, Student),
                Accuracy(both, Peer),
                Accuracy(both, Teacher),
                both.Distilled.Peers.Single(p => p.Peer == Student).TeacherWeights?.GetValueOrDefault(Teacher) ?? double.NaN,
                alone.WallSeconds + frozen.WallSeconds + hinted.WallSeconds + both.WallSeconds + uniform.WallSeconds,
                string.Join("; ", both.Distilled.Peers.Concat(uniform.Distilled.Peers).Where(p => p.Status != PeerStatus.Completed).Select(p => p.Message)));
            rows.Add(row);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"seed {k}: student alone {row.Alone:F4}, with the frozen teacher {row.WithTeacher:F4} (and a hint {row.WithTeacherHint:F4}), with teacher and live peer {row.WithBoth:F4} (uniform weights {row.WithBothUniform:F4}; live peer {row.LivePeer:F4}, teacher {row.TeacherAccuracy:F4}, the teacher's mean weight {row.TeacherWeight:F3}); {row.WallSeconds:F0} s"));
        }

        Console.WriteLine();
        Console.WriteLine("| seed | student alone | + frozen teacher | gain (points) | + hint | gain (points) | + frozen teacher + live peer | gain (points) | same, uniform weights | gain (points) | live peer | teacher's mean weight |");
        Console.WriteLine("|-----:|------:|------:|------:|------:|------:|------:|------:|------:|------:|------:|------:|");
        foreach (var r in rows)
        {
            Console.WriteLine(Line(r.Seed.ToString(CultureInfo.InvariantCulture), r.Alone, r.WithTeacher, r.WithTeacherHint, r.WithBoth, r.WithBothUniform, r.LivePeer, r.TeacherWeight));
        }

        Console.WriteLine(Line("mean", rows.Average(r => r.Alone), rows.Average(r => r.WithTeacher), rows.Average(r => r.WithTeacherHint), rows.Average(r => r.WithBoth), rows.Average(r => r.WithBothUniform), rows.Average(r => r.LivePeer), rows.Average(r => r.TeacherWeight)));
        foreach (var r in rows.Where(r => r.Failures.Length > 0))
        {
            Console.WriteLine($"seed {r.Seed}: {r.Failures}");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"frozen teacher: test accuracy {rows[0].TeacherAccuracy:F4}; wall time {clock.Elapsed.TotalSeconds:F0} s"));
        Directory.CreateDirectory(Path.GetDirectoryName(report)!);
        File.WriteAllText(report, JsonSerializer.Serialize(
            new
            {
                benchmark = "multi-teacher",
                spec = specPath,
                rows,
                mean_gain_teacher_points = 100 * rows.Average(r => r.WithTeacher - r.Alone),
                mean_gain_teacher_hint_points = 100 * rows.Average(r => r.WithTeacherHint - r.Alone),
                mean_gain_both_points = 100 * rows.Average(r => r.WithBoth - r.Alone),
                mean_gain_both_uniform_points = 100 * rows.Average(r => r.WithBothUniform - r.Alone),
                wall_seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
            },
            new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        Console.WriteLine($"report: {report}");
        return 0;
    }

    private static string Line(string seed, double alone, double teacher, double hint, double both, double uniform, double peer, double weight) => string.Create(CultureInfo.InvariantCulture,
        $"| {seed} | {alone:F4} | {teacher:F4} | {100 * (teacher - alone):+0.00;-0.00} | {hint:F4} | {100 * (hint - alone):+0.00;-0.00} | {both:F4} | {100 * (both - alone):+0.00;-0.00} | {uniform:F4} | {100 * (uniform - alone):+0.00;-0.00} | {peer:F4} | {weight:F3} |");

    /// <summary>The spec with only the named peers, each learning from the others that remain.</summary>
    private static CohortSpec Only(CohortSpec spec, string[] names) => spec with
    {
        Peers = spec.Peers.Where(p => names.Contains(p.Name)).ToList(),
        Distillation = spec.Distillation with
        {
            Teachers = spec.Distillation.Teachers!.Where(t => names.Contains(t.Key)).ToDictionary(t => t.Key, t => (IReadOnlyList<string>)[.. t.Value.Where(names.Contains)]),
        },
    };

    private static ExperimentResult Run(CohortSpec spec, string output) =>
        CohortExperiment.Run(spec with { Output = output }, new ExperimentOptions { Output = output }, new Quiet(), new StopControl());

    private static double Accuracy(ExperimentResult result, string peer) =>
        result.Distilled.Peers.Single(p => p.Peer == peer).TestAccuracy ?? double.NaN;

    /// <summary>One seed; an accuracy is NaN for a peer that failed (its message is in <see cref="Failures"/>).</summary>
    private sealed record Row(int Seed, double Alone, double WithTeacher, double WithTeacherHint, double WithBoth, double WithBothUniform, double LivePeer, double TeacherAccuracy, double TeacherWeight, double WallSeconds, string Failures);

    private sealed class Quiet : ICohortObserver
    {
        public void OnStep(StepRecord record)
        {
        }

        public void OnEvaluation(EvalRecord record)
        {
        }

        public void OnEvent(PeerEvent record)
        {
            if (record.Kind is "failed" or "finished")
            {
                Console.WriteLine($"  [{record.Run}] {record.Peer}: {record.Kind}: {record.Message}");
            }
        }
    }
}
