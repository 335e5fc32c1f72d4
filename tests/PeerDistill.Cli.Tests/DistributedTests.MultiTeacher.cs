using System.Text.Json;
using PeerDistill.Torch;
using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>Multi-teacher distillation distributed: the same per-step numbers as embedded.</summary>
public sealed partial class DistributedTests
{
    [Fact]
    public async Task MultiTeacherCohort_EmbeddedAndDistributed_GiveIdenticalPerStepLosses()
    {
        // A frozen teacher (resnet8 with batch norm, from a checkpoint made here), a live peer and a
        // student with per-sample weights and a hint from the teacher's layer3: every peer occupies a slot, two in one worker process and
        // one in another, so frames go both through the network and through the local hand-over.
        using var dir = new TempDirectory();
        var checkpoint = Path.Combine(dir.Path, "teacher.ckpt");
        using (var teacher = Model.Create("resnet8", new InputShape(1, 28, 28), 10, seed: 9, options: new Dictionary<string, string> { ["width"] = "0.25" }))
        {
            Checkpoint.Save(checkpoint, teacher, optimizer: null, step: 0);
        }

        var spec = Path.Combine(dir.Path, "mt.yaml");
        await File.WriteAllTextAsync(spec, $$$"""
            cohort: mt
            peers:
              - {name: t, model: resnet8, model_options: {width: 0.25}, frozen: true, checkpoint: '{{{checkpoint}}}'}
              - {name: p, model: mlp, model_options: {widths: [64]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 2}
              - {name: s, model: cnn, model_options: {hidden: 16}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 3}
            distillation:
              strategy: multi-teacher
              weighting: correctness
              temperature: 2
              teachers: {p: [t], s: [t, p]}
              hint: {teacher: t, teacher_layer: layer3, student_layer: conv2, students: [s], weight: 0.5}
            data: {dataset: synthetic, batch_size: 50, epochs: 2, synthetic: {train_count: 600, test_count: 200, noise: 0.3}}
            checkpoints: {every_steps: 10}
            """);
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        cluster.StartWorker("w1", 2);
        cluster.StartWorker("w2", 1);
        await cluster.WaitForLineAsync("w1", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        await cluster.WaitForLineAsync("w2", "joined the cluster", 1, TimeSpan.FromSeconds(60));

        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--wait");
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var embedded = CliProcess.RunIn(dir.Path, "run", spec, "--output", Path.Combine(dir.Path, "embedded"));
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);

        var expected = MetricsFiles.Embedded(Path.Combine(dir.Path, "embedded"));
        var runDirectory = Directory.GetDirectories(Path.Combine(dir.Path, "runs", "mt")).Single();
        var actual = MetricsFiles.Distributed(runDirectory);
        Assert.Equal(3 * 24, expected.Count);
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (key, loss) in expected)
        {
            Assert.True(actual[key] == loss, $"{key}: embedded {loss:R}, distributed {actual[key]:R}");
        }

        // The student's teacher weights and hint terms were logged alike, step by step.
        var embeddedWeights = TeacherWeights(File.ReadLines(Path.Combine(dir.Path, "embedded", "metrics.jsonl")));
        var distributedWeights = TeacherWeights(File.ReadLines(Path.Combine(runDirectory, "metrics.s.jsonl")));
        Assert.Equal(24, embeddedWeights.Count);
        Assert.Equal(embeddedWeights, distributedWeights);
    }

    /// <summary>Step -> the student's logged weight of the frozen teacher and its hint term (the files hold one run).</summary>
    private static Dictionary<long, (double Weight, double Hint)> TeacherWeights(IEnumerable<string> lines)
    {
        var result = new Dictionary<long, (double, double)>();
        foreach (var line in lines)
        {
            var e = JsonDocument.Parse(line).RootElement;
            if (e.GetProperty("type").GetString() == "step" && e.GetProperty("peer").GetString() == "s")
            {
                result[e.GetProperty("step").GetInt64()] = (e.GetProperty("teacher_weights").GetProperty("t").GetDouble(), e.GetProperty("hint").GetDouble());
            }
        }

        return result;
    }
}
