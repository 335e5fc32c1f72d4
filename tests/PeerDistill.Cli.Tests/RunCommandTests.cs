using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>`peerdistill run`, validate, schema, evaluate and export, as real processes on examples/smoke.yaml.</summary>
public class RunCommandTests
{
    private static string Smoke => Path.Combine(CliProcess.Examples, "smoke.yaml");

    [Fact]
    public void RunSmoke_WithBaseline_WritesSummaryMetricsPlotAndExportsAPeer()
    {
        var dir = Directory.CreateTempSubdirectory("peerdistill-run-").FullName;
        try
        {
            var (code, stdout, stderr) = CliProcess.RunIn(dir, "run", Smoke, "--baseline", "--output", "out");
            Assert.True(code == 0, $"exit {code}\n{stderr}\n{stdout}");
            Assert.Matches(@"ensemble\s+0\.\d{4}\s+0\.\d{4}\s+[+-]0\.\d{4}", stdout);
            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "out", "summary.json")));
            foreach (var peer in summary.RootElement.GetProperty("runs").GetProperty("dml").GetProperty("peers").EnumerateArray())
            {
                Assert.True(peer.GetProperty("test_accuracy").GetDouble() > 0.8, peer.ToString());
            }

            Assert.True(File.Exists(Path.Combine(dir, "out", "metrics.jsonl")));
            Assert.True(File.Exists(Path.Combine(dir, "out", "plot.svg")));

            var checkpoint = Directory.GetFiles(Path.Combine(dir, "out", "checkpoints", "dml", "cnn"), "*.ckpt").Max()!;
            var (evalCode, evalOut, evalErr) = CliProcess.RunIn(dir, "evaluate", checkpoint, "--dataset", "synthetic", "--threads", "1");
            Assert.True(evalCode == 0, evalErr);
            Assert.Contains("test accuracy", evalOut, StringComparison.Ordinal);

            var (exportCode, exportOut, exportErr) = CliProcess.RunIn(dir, "export", checkpoint, "cnn.pt");
            Assert.True(exportCode == 0, exportErr);
            Assert.True(new FileInfo(Path.Combine(dir, "cnn.pt")).Length > 100_000, exportOut);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Interrupt_SavesCheckpoints_AndResumeEndsLikeAnUninterruptedRun()
    {
        var dir = Directory.CreateTempSubdirectory("peerdistill-sigint-").FullName;
        try
        {
            var (code, _, stderr) = CliProcess.RunIn(dir, "run", Smoke, "--output", "full");
            Assert.True(code == 0, stderr);

            // The run holds before step 60 and says so; the interrupt lands there, however loaded the machine.
            using (var process = CliProcess.Start(dir, "run", Smoke, "--output", "split", "--hold-at-step", "60"))
            {
                var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var stdout = new System.Text.StringBuilder();
                process.OutputDataReceived += (_, e) =>
                {
                    if (e.Data is null)
                    {
                        return;
                    }

                    lock (stdout)
                    {
                        stdout.AppendLine(e.Data);
                    }

                    if (e.Data.StartsWith("held before step 60", StringComparison.Ordinal))
                    {
                        held.TrySetResult();
                    }
                };
                process.BeginOutputReadLine();
                var err = process.StandardError.ReadToEndAsync();
                Assert.True(await Task.WhenAny(held.Task, process.WaitForExitAsync(), Task.Delay(CliProcess.Limit)) == held.Task, $"the run never held before step 60\n{stdout}");
                using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]))
                {
                    kill.WaitForExit();
                }

                Assert.True(process.WaitForExit(CliProcess.Limit), "the run did not exit after SIGINT");
                process.WaitForExit();
                Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}\n{await err}\n{stdout}");
                Assert.Contains("--resume", stdout.ToString(), StringComparison.Ordinal);
            }

            // Both peers stopped at the step boundary they held at and saved a checkpoint of it.
            var latest = new[] { "mlp", "cnn" }
                .Select(peer => Directory.GetFiles(Path.Combine(dir, "split", "checkpoints", "dml", peer), "*.ckpt").Select(Path.GetFileName).Max())
                .ToList();
            Assert.Equal(["step-00000060.ckpt", "step-00000060.ckpt"], latest);

            var (resumeCode, resumeOut, resumeErr) = CliProcess.RunIn(dir, "run", Smoke, "--output", "split", "--resume");
            Assert.True(resumeCode == 0, $"{resumeErr}\n{resumeOut}");
            Assert.Equal(Accuracies(Path.Combine(dir, "full")), Accuracies(Path.Combine(dir, "split")));
            Assert.True(JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "split", "summary.json"))).RootElement.GetProperty("runs").GetProperty("dml").GetProperty("resumed_from_step").GetInt64() > 0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Validate_BadSpec_ListsEveryProblemWithPathAndLine_Exit2()
    {
        var dir = Directory.CreateTempSubdirectory("peerdistill-validate-").FullName;
        try
        {
            var spec = Path.Combine(dir, "bad.yaml");
            File.WriteAllText(spec, """
                cohort: bad
                peers:
                  - name: a
                    model: resnet99
                  - name: b
                    model: cnn
                    optimiser: {kind: sgd}
                distillation:
                  temperature: -1
                data:
                  dataset: synthetic
                """);
            var (code, stdout, stderr) = CliProcess.Run("validate", spec);
            Assert.Equal(2, code);
            Assert.Contains("bad.yaml:4:12: peers[0].model: unknown model 'resnet99' (known: mlp, cnn, resnet8, resnet20, resnet32, mobilenetv2)", stderr, StringComparison.Ordinal);
            Assert.Contains("peers[1].optimiser", stderr, StringComparison.Ordinal);
            Assert.Contains("distillation.temperature", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
            Assert.Equal(string.Empty, stdout);

            var (runCode, _, runErr) = CliProcess.Run("run", spec);
            Assert.Equal(2, runCode);
            Assert.Contains("peers[0].model", runErr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ValidateExamples_AllValid()
    {
        // The examples are checked from a copy of examples/ next to a runs/ of its own: the
        // multi-teacher example's frozen teacher is a checkpoint that `peerdistill train` writes first
        // (see the example's header), absent from a fresh clone. Without it the example is refused,
        // naming the file; with a cnn checkpoint at the path it names, every example is valid.
        using var dir = new TempDirectory("peerdistill-examples-");
        var examples = Path.Combine(dir.Path, "examples");
        Directory.CreateDirectory(examples);
        foreach (var file in Directory.GetFiles(CliProcess.Examples, "*.yaml"))
        {
            File.Copy(file, Path.Combine(examples, Path.GetFileName(file)));
        }

        var multiTeacher = Path.Combine(examples, "fashion-multi-teacher.yaml");
        var teacher = Path.GetFullPath(Path.Combine(dir.Path, "runs", "fashion-teacher-cnn", "checkpoints", "none", "cnn", "step-00001876.ckpt"));
        var (missingCode, _, missingErr) = CliProcess.Run("validate", multiTeacher);
        Assert.Equal(2, missingCode);
        Assert.Contains($"peers[0].checkpoint: checkpoint file '{teacher}' not found", missingErr, StringComparison.Ordinal);

        using (var model = PeerDistill.Torch.Model.Create("cnn", new PeerDistill.Torch.InputShape(1, 28, 28), 10, seed: 0))
        {
            PeerDistill.Torch.Checkpoint.Save(teacher, model, optimizer: null, step: 1876);
        }

        foreach (var spec in Directory.GetFiles(examples, "*.yaml"))
        {
            var (code, stdout, stderr) = CliProcess.Run("validate", spec);
            Assert.True(code == 0, $"{spec}: {stderr}");
            Assert.Contains("valid cohort", stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Schema_IsJsonSchemaOfTheSpec()
    {
        var (code, stdout, _) = CliProcess.Run("schema");
        Assert.Equal(0, code);
        using var schema = JsonDocument.Parse(stdout);
        Assert.True(schema.RootElement.TryGetProperty("$schema", out _));
        Assert.True(schema.RootElement.GetProperty("properties").TryGetProperty("peers", out _));
    }

    private static List<double> Accuracies(string output)
    {
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "summary.json")));
        var run = summary.RootElement.GetProperty("runs").GetProperty("dml");
        return run.GetProperty("peers").EnumerateArray().Select(p => p.GetProperty("test_accuracy").GetDouble())
            .Append(run.GetProperty("ensemble_accuracy").GetDouble()).ToList();
    }
}
