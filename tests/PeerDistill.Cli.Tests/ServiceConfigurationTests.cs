using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// The long-running commands' settings from a JSON file (<c>--config</c>), the environment
/// (<c>PEERDISTILL_SECTION__KEY</c>) and flags, each over the one before, checked before anything starts.
/// </summary>
public sealed partial class ServiceConfigurationTests(ITestOutputHelper output)
{
    [Fact]
    public void Worker_BadSettingsFromFileEnvironmentAndFlags_ExitTwoNamingEachFlagAndKey_TheFlagOverTheEnvironmentOverTheFile()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "worker.json");
        File.WriteAllText(file, """{"Worker": {"Devices": "cpu,gpu", "Host": "127.0.0.1", "Id": "coordinator"}}""");
        var environment = new Dictionary<string, string> { ["PEERDISTILL_WORKER__HOST"] = "nope", ["PEERDISTILL_WORKER__SLOTS"] = "0" };

        var run = CliProcess.RunIn(dir.Path, environment, "worker", "--config", file, "--slots", "2");

        Assert.Equal(2, run.ExitCode);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains("--coordinator / Worker:Coordinator: required: the coordinator's cluster endpoint (host:port, printed by `peerdistill coordinator`), or the cluster's PostgreSQL database (Worker:Database)", lines);
        Assert.Contains("--devices / Worker:Devices: 'gpu' is not a device (cpu or cuda:N)", lines); // from the file
        Assert.Contains("--host / Worker:Host: 'nope' is not an IP address", lines); // the environment over the file
        Assert.Contains("--id / Worker:Id: 'coordinator' names the coordinator's silo; give this worker another id", lines);
        Assert.DoesNotContain(lines, l => l.Contains("Worker:Slots", StringComparison.Ordinal)); // the flag (2) over the environment (0)
        Assert.Equal(4, lines.Length);
    }

    [Theory]
    [InlineData("PEERDISTILL_WORKER__SLOTZ", "2", "'SLOTZ'")]
    [InlineData("PEERDISTILL_WORKER__SLOTS", "two", "'two' at 'Worker:Slots'")]
    public void Worker_AnUnknownKeyOrAValueOfTheWrongType_ExitTwoNamingIt(string variable, string value, string named)
    {
        using var dir = new TempDirectory();
        var run = CliProcess.RunIn(dir.Path, new Dictionary<string, string> { [variable] = value }, "worker", "--coordinator", "127.0.0.1:1");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(named, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfigFileThatIsMissingOrNotJson_ExitTwoNamingIt()
    {
        using var dir = new TempDirectory();
        var broken = Path.Combine(dir.Path, "broken.json");
        File.WriteAllText(broken, """{"Coordinator": """);

        var missing = CliProcess.RunIn(dir.Path, "coordinator", "--config", Path.Combine(dir.Path, "none.json"));
        var notJson = CliProcess.RunIn(dir.Path, "coordinator", "--config", broken);

        Assert.Equal((2, 2), (missing.ExitCode, notJson.ExitCode));
        Assert.Contains("--config: '" + Path.Combine(dir.Path, "none.json") + "' does not exist", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("--config: '" + broken + "' is not a JSON settings file", notJson.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Coordinator_TakesItsPortsFromTheFileAndTheEnvironment_AndTheFlagOverBoth()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "coordinator.json");
        File.WriteAllText(file, "{\"Coordinator\": {\"Port\": 0, \"HttpPort\": 0, \"Output\": \"" + Path.Combine(dir.Path, "from-file") + "\"}}");
        var environment = new Dictionary<string, string> { ["PEERDISTILL_COORDINATOR__CLUSTERPORT"] = "0", ["PEERDISTILL_COORDINATOR__OUTPUT"] = Path.Combine(dir.Path, "from-environment") };
        var flagged = Path.Combine(dir.Path, "from-flag");
        using var coordinator = CliProcess.StartIn(dir.Path, environment, "coordinator", "--config", file, "--output", flagged);
        try
        {
            var listening = ListeningAt().Match(await ReadUntilAsync(coordinator, "coordinator listening at"));
            var cluster = ClusterAt().Match(await ReadUntilAsync(coordinator, "cluster endpoint"));
            Assert.True(listening.Success && cluster.Success, "the coordinator printed no addresses");
            Assert.NotEqual("7070", listening.Groups[1].Value); // Port 0 from the file: a free port, not the default
            Assert.NotEqual("11111", cluster.Groups[1].Value); // ClusterPort 0 from the environment

            // Where runs write shows in the refusal of a place outside it: the flag's, not the environment's or the file's.
            var spec = Path.Combine(dir.Path, "elsewhere.yaml");
            File.WriteAllText(spec, File.ReadAllText(Path.Combine(CliProcess.Examples, "smoke.yaml")).Replace("output: runs/smoke", "output: /elsewhere", StringComparison.Ordinal));
            var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", "http://127.0.0.1:" + listening.Groups[1].Value);
            Assert.NotEqual(0, submit.ExitCode);
            Assert.Contains($"outside the coordinator's output root '{flagged}'", submit.Stderr + submit.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            coordinator.Kill(entireProcessTree: true);
            await coordinator.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task BeyondLoopback_RefusedWithoutInsecure_WhichStartsItWithAWarning()
    {
        using var dir = new TempDirectory();
        var coordinator = CliProcess.RunIn(dir.Path, "coordinator", "--host", "0.0.0.0", "--port", "0", "--http-port", "0", "--cluster-port", "0");
        var worker = CliProcess.RunIn(dir.Path, new Dictionary<string, string> { ["PEERDISTILL_WORKER__HOST"] = "10.1.2.3" }, "worker", "--coordinator", "127.0.0.1:1");

        Assert.Equal((2, 2), (coordinator.ExitCode, worker.ExitCode));
        Assert.Contains("--host / Coordinator:Host: '0.0.0.0' is not a loopback address, and the cluster's connections are neither authenticated nor encrypted", coordinator.Stderr, StringComparison.Ordinal);
        Assert.Contains("--host / Worker:Host: '10.1.2.3' is not a loopback address", worker.Stderr, StringComparison.Ordinal);
        Assert.Contains("--insecure", worker.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "data")), "a refused coordinator made its database");

        // With --insecure it starts, and says on stderr what that means.
        using var exposed = CliProcess.Start(dir.Path, "coordinator", "--host", "0.0.0.0", "--port", "0", "--http-port", "0", "--cluster-port", "0", "--insecure");
        try
        {
            await ReadUntilAsync(exposed, "coordinator listening at");
            var warning = await exposed.StandardError.ReadLineAsync();
            Assert.StartsWith("warning: --insecure: listening on 0.0.0.0 without authentication or encryption", warning, StringComparison.Ordinal);
        }
        finally
        {
            exposed.Kill(entireProcessTree: true);
            await exposed.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task APortThatIsTaken_ExitOneNamingTheAddress_NotAnInternalError()
    {
        using var dir = new TempDirectory();
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var coordinator = CliProcess.RunIn(dir.Path, "coordinator", "--port", "0", "--http-port", "0", "--cluster-port", port);
        Assert.True(coordinator.ExitCode == 1, $"exit {coordinator.ExitCode}\n{coordinator.Stdout}\n{coordinator.Stderr}");
        Assert.Contains("the coordinator cannot listen", coordinator.Stderr, StringComparison.Ordinal);
        Assert.Contains(port, coordinator.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", coordinator.Stdout + coordinator.Stderr, StringComparison.Ordinal);

        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        var worker = CliProcess.RunIn(dir.Path, "worker", "--coordinator", cluster.ClusterEndpoint, "--id", "w1", "--port", port);
        Assert.True(worker.ExitCode == 1, $"exit {worker.ExitCode}\n{worker.Stdout}\n{worker.Stderr}");
        Assert.Contains("worker 'w1' cannot listen", worker.Stderr, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", worker.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", worker.Stdout + worker.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Tls_NeedsAllThreeFiles_ANodeCertificateOfTheAuthority_AndItsOwnKey()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliProcess.RunIn(dir.Path, "certs", "init").ExitCode);
        Assert.Equal(0, CliProcess.RunIn(dir.Path, "certs", "issue", "w1").ExitCode);
        Assert.Equal(0, CliProcess.RunIn(dir.Path, "certs", "init", "--dir", "other").ExitCode);
        var certs = Path.Combine(dir.Path, "certs");

        var partial = CliProcess.RunIn(dir.Path, "worker", "--coordinator", "127.0.0.1:1", "--tls-cert", Path.Combine(certs, "w1.crt"));
        var foreign = CliProcess.RunIn(dir.Path, "worker", "--coordinator", "127.0.0.1:1", "--tls-cert", Path.Combine(certs, "w1.crt"), "--tls-key", Path.Combine(certs, "w1.key"), "--tls-ca", Path.Combine(dir.Path, "other", "ca.crt"));
        var missing = CliProcess.RunIn(dir.Path, "coordinator", "--tls-cert", Path.Combine(certs, "none.crt"), "--tls-key", Path.Combine(certs, "w1.key"), "--tls-ca", Path.Combine(certs, "ca.crt"));
        var mismatched = CliProcess.RunIn(dir.Path, "coordinator", "--tls-cert", Path.Combine(certs, "w1.crt"), "--tls-key", Path.Combine(certs, "ca.key"), "--tls-ca", Path.Combine(certs, "ca.crt"));

        Assert.Equal((2, 2, 2, 2), (partial.ExitCode, foreign.ExitCode, missing.ExitCode, mismatched.ExitCode));
        Assert.Contains($"--tls-cert / Coordinator:Tls:Certificate: '{Path.Combine(certs, "ca.key")}' is not the key of '{Path.Combine(certs, "w1.crt")}': they do not belong together", mismatched.Stderr, StringComparison.Ordinal);
        Assert.Contains("--tls-key / Worker:Tls:Key: is not set", partial.Stderr, StringComparison.Ordinal);
        Assert.Contains("--tls-ca / Worker:Tls:Authority: is not set", partial.Stderr, StringComparison.Ordinal);
        Assert.Contains("--tls-cert / Worker:Tls:Certificate: this node's own certificate 'CN=w1, O=PeerDistill' is not valid from the cluster's authority", foreign.Stderr, StringComparison.Ordinal);
        Assert.Contains("none.crt' does not exist", missing.Stderr, StringComparison.Ordinal);
    }

    private static async Task<string> ReadUntilAsync(System.Diagnostics.Process process, string start)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await process.StandardOutput.ReadLineAsync(patience.Token) is { } line)
        {
            if (line.StartsWith(start, StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new InvalidOperationException($"the process ended before printing '{start}': {await process.StandardError.ReadToEndAsync()}");
    }

    [GeneratedRegex(@"listening at http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningAt();

    [GeneratedRegex(@"cluster endpoint 127\.0\.0\.1:(\d+)")]
    private static partial Regex ClusterAt();
}
