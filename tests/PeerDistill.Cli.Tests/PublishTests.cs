using System.Diagnostics;
using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// A fact that runs only where PEERDISTILL_TEST_PUBLISH=1: the self-contained trimmed publish takes
/// minutes, too long for the default suite.
/// </summary>
public sealed class PublishFactAttribute : FactAttribute
{
    public const string Variable = "PEERDISTILL_TEST_PUBLISH";

    public PublishFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Skip = $"the trimmed self-contained publish takes minutes; set {Variable}=1 to run it (or run ./build.sh publish, which checks info and validate)";
        }
    }
}

/// <summary>
/// <c>./build.sh publish</c> into a fresh folder, then the published binary with an empty
/// environment (no SDK, no DOTNET_*): info, validate and a short embedded run of the smoke spec.
/// </summary>
public sealed class PublishTests
{
    [PublishFact]
    public void PublishedBinaryRunsWithoutTheSdk()
    {
        var repo = Path.GetDirectoryName(CliProcess.Examples)!;
        using var output = new TempDirectory("peerdistill-publish-");
        using var work = new TempDirectory("peerdistill-publish-run-");
        var publish = Run(repo, Path.Combine(repo, "build.sh"), inheritEnvironment: true, "publish", output.Path);
        Assert.True(publish.ExitCode == 0, $"./build.sh publish failed ({publish.ExitCode}):\n{publish.Stdout}\n{publish.Stderr}");

        var binary = Path.Combine(output.Path, "peerdistill");
        Assert.True(File.Exists(Path.Combine(output.Path, "libpeerdistill_native.so")), "the shim is not in the publish folder");
        var smoke = Path.Combine(CliProcess.Examples, "smoke.yaml");

        var info = Run(work.Path, binary, inheritEnvironment: false, "info");
        Assert.True(info.ExitCode == 0, $"info failed:\n{info.Stdout}\n{info.Stderr}");
        Assert.Contains("engine:", info.Stdout, StringComparison.Ordinal);

        var validate = Run(work.Path, binary, inheritEnvironment: false, "validate", smoke);
        Assert.True(validate.ExitCode == 0, $"validate failed:\n{validate.Stdout}\n{validate.Stderr}");
        Assert.Contains("valid cohort 'smoke'", validate.Stdout, StringComparison.Ordinal);

        var run = Run(work.Path, binary, inheritEnvironment: false, "run", smoke);
        Assert.True(run.ExitCode == 0, $"run failed:\n{run.Stdout}\n{run.Stderr}");
        Assert.True(File.Exists(Path.Combine(work.Path, "runs", "smoke", "summary.json")), $"no summary.json:\n{run.Stdout}");
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(string workingDirectory, string file, bool inheritEnvironment, params string[] args)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        if (!inheritEnvironment)
        {
            // What `env -i PATH=/usr/bin:/bin` leaves: no dotnet on PATH, no DOTNET_ROOT.
            info.Environment.Clear();
            info.Environment["PATH"] = "/usr/bin:/bin";
        }

        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 15 minutes");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
