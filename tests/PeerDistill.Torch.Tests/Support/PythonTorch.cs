using System.Diagnostics;

namespace PeerDistill.Torch.Tests.Support;

/// <summary>Runs Debian's python3 with python3-torch (the same libtorch as the engine) for reference values.</summary>
internal static class PythonTorch
{
    /// <summary>Debian's interpreter; python3-torch is installed for it, not for other pythons on PATH.</summary>
    public const string Interpreter = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(Probe);

    /// <summary>Null when python3-torch can be used, else why not.</summary>
    public static string? WhyUnavailable => Missing.Value;

    public static string Run(string scriptPath, params string[] args)
    {
        var info = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(scriptPath);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("python3 did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"python3 {scriptPath} did not finish in 3 minutes");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"python3 {scriptPath} exited {process.ExitCode}: {stderr.Result}");
        }

        return stdout.Result;
    }

    private static string? Probe()
    {
        if (!File.Exists(Interpreter))
        {
            return $"{Interpreter} not found (apt-get install python3-torch)";
        }

        try
        {
            var info = new ProcessStartInfo(Interpreter, "-c \"import torch\"")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(info)!;
            process.WaitForExit(60_000);
            return process.ExitCode == 0 ? null : "python3-torch is not installed for /usr/bin/python3 (apt-get install python3-torch)";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"cannot run {Interpreter}: {e.Message}";
        }
    }
}
