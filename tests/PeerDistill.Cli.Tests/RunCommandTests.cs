using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
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
            using (var held = await HeldRun.StartAsync(dir, 60, "run", Smoke, "--output", "split", "--hold-at-step", "60"))
            {
                var (exit, heldOut, heldErr) = await held.InterruptAsync();
                Assert.True(exit == 130, $"exit {exit}\n{heldErr}\n{heldOut}");
                Assert.Contains("--resume", heldOut, StringComparison.Ordinal);
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
    public async Task MetricsPort_ServesTheRunsMetricsToPrometheus_WhileItTrains()
    {
        var dir = Directory.CreateTempSubdirectory("peerdistill-run-metrics-").FullName;
        try
        {
            using var held = await HeldRun.StartAsync(dir, 20, "run", Smoke, "--output", "out", "--hold-at-step", "20", "--metrics-port", "0");
            var address = Regex.Match(held.Output, @"^metrics at (http://127\.0\.0\.1:\d+/metrics)$", RegexOptions.Multiline);
            Assert.True(address.Success, held.Output);
            using var http = new HttpClient();
            var scrape = Telemetry.PrometheusExposition.Parse(await http.GetStringAsync(new Uri(address.Groups[1].Value)));

            // Every peer's 20 steps so far (held before step 20: steps 0 to 19 done), counted by the step histogram; the process's resource.
            var steps = scrape.Samples.Where(x => x.Name == "peerdistill_step_duration_seconds_count").ToDictionary(x => x.Labels["peerdistill_peer"], x => x.Value);
            Assert.Equal(new Dictionary<string, double> { ["mlp"] = 20, ["cnn"] = 20 }, steps);
            Assert.Contains(scrape.Samples, x => x.Name == "peerdistill_peer_loss" && x.Value is > 0 and < 10);
            var target = Assert.Single(scrape.Samples, x => x.Name == "target_info");
            Assert.Equal("peerdistill-embedded", target.Labels["service_name"]);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(new Uri(address.Groups[1].Value), "/api/v1/runs"))).StatusCode);

            var (exit, stdout, stderr) = await held.InterruptAsync();
            Assert.True(exit == 130, $"exit {exit}\n{stderr}\n{stdout}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void MetricsPort_OutOfRange_IsRefusedNamingTheFlag()
    {
        var (code, _, stderr) = CliProcess.Run("run", Smoke, "--metrics-port", "70000");
        Assert.Equal(2, code);
        Assert.Contains("--metrics-port: must be 0 to 65535 (0: a free port), got 70000", stderr, StringComparison.Ordinal);
    }

    /// <summary>A `peerdistill run` started and seen holding before a step (its "held before step N" line), then interrupted there.</summary>
    private sealed class HeldRun : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _stdout = new();
        private readonly Task<string> _stderr;

        private HeldRun(Process process)
        {
            _process = process;
            _stderr = process.StandardError.ReadToEndAsync();
        }

        /// <summary>What it printed so far.</summary>
        public string Output
        {
            get
            {
                lock (_stdout)
                {
                    return _stdout.ToString();
                }
            }
        }

        public static async Task<HeldRun> StartAsync(string dir, long step, params string[] args)
        {
            var run = new HeldRun(CliProcess.Start(dir, args));
            var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            run._process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (run._stdout)
                {
                    run._stdout.AppendLine(e.Data);
                }

                if (e.Data.StartsWith($"held before step {step}", StringComparison.Ordinal))
                {
                    held.TrySetResult();
                }
            };
            run._process.BeginOutputReadLine();
            if (await Task.WhenAny(held.Task, run._process.WaitForExitAsync(), Task.Delay(CliProcess.Limit)) != held.Task)
            {
                run.Dispose();
                Assert.Fail($"the run never held before step {step}\n{run.Output}");
            }

            return run;
        }

        /// <summary>Sends SIGINT and waits for the exit: its code, everything it printed, and its errors.</summary>
        public async Task<(int Code, string Stdout, string Stderr)> InterruptAsync()
        {
            using (var kill = Process.Start("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            Assert.True(_process.WaitForExit(CliProcess.Limit), $"the run did not exit after SIGINT\n{Output}");
            _process.WaitForExit();
            return (_process.ExitCode, Output, await _stderr);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
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
