using System.Diagnostics;

namespace PeerDistill.Cli.Tests;

/// <summary>Runs the peerdistill command as a separate process and captures what it prints.</summary>
internal static class CliProcess
{
    /// <summary>The repository's examples folder.</summary>
    public static string Examples
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "examples");
                if (File.Exists(Path.Combine(dir.FullName, "PeerDistill.sln")) && Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException("examples/ not found above the test binaries");
        }
    }

    /// <summary>
    /// The program the tests start: the ReadyToRun copy <c>./build.sh test</c> publishes (named by
    /// <c>PEERDISTILL_TEST_CLI</c>), else the build's own <c>peerdistill.dll</c> next to the tests.
    /// </summary>
    public static string Program { get; } = FindProgram();

    private static string FindProgram()
    {
        if (Environment.GetEnvironmentVariable("PEERDISTILL_TEST_CLI") is { Length: > 0 } given)
        {
            return File.Exists(given) ? given : throw new FileNotFoundException($"PEERDISTILL_TEST_CLI names '{given}', which does not exist (./build.sh test publishes it)", given);
        }

        return Path.Combine(AppContext.BaseDirectory, "peerdistill.dll");
    }

    /// <summary>Starts the command without waiting (working directory <paramref name="workingDirectory"/>).</summary>
    public static Process Start(string workingDirectory, params string[] args) => StartDll(Program, workingDirectory, args);

    /// <summary>Starts the command without waiting, with these variables added to its environment.</summary>
    public static Process StartIn(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args) => StartDll(Program, workingDirectory, args, environment);

    /// <summary>Starts the command from another copy of the program (<paramref name="dll"/>).</summary>
    public static Process StartDll(string dll, string workingDirectory, params string[] args) => StartDll(dll, workingDirectory, args, null);

    private static Process StartDll(string dll, string workingDirectory, string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        return Process.Start(info)!;
    }

    /// <summary>How long a command may run before the test gives up on it.</summary>
    public static TimeSpan Limit { get; } = TimeSpan.FromMinutes(25);

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => RunIn(Directory.GetCurrentDirectory(), args);

    public static (int ExitCode, string Stdout, string Stderr) RunIn(string workingDirectory, params string[] args) => RunDll(Program, workingDirectory, args);

    /// <summary>Runs the command to its end with these variables added to its environment.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunIn(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args) => RunDll(Program, workingDirectory, args, environment);

    public static (int ExitCode, string Stdout, string Stderr) RunDll(string dll, string workingDirectory, params string[] args) => RunDll(dll, workingDirectory, args, null);

    private static (int ExitCode, string Stdout, string Stderr) RunDll(string dll, string workingDirectory, string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        using var process = StartDll(dll, workingDirectory, args, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"peerdistill {string.Join(' ', args)} did not finish in {Limit.TotalMinutes} minutes");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
