using System.Diagnostics;
using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>`peerdistill certs init|issue`: the files, their permissions, and what OpenSSL makes of them.</summary>
public sealed class CertsCommandTests
{
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // file modes
    public void InitAndIssue_WriteOwnerOnlyKeys_NodeVerifiesAgainstTheAuthority_NothingReplacedWithoutForce()
    {
        using var dir = new TempDirectory();
        var init = CliProcess.RunIn(dir.Path, "certs", "init");
        Assert.True(init.ExitCode == 0, init.Stderr);
        var issue = CliProcess.RunIn(dir.Path, "certs", "issue", "worker-1", "--ip", "10.0.0.2", "--dns", "w1.cluster");
        Assert.True(issue.ExitCode == 0, issue.Stderr);
        var certs = Path.Combine(dir.Path, "certs");

        foreach (var key in new[] { "ca.key", "worker-1.key" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(certs, key)));
        }

        Assert.DoesNotContain("PRIVATE KEY", init.Stdout + issue.Stdout, StringComparison.Ordinal);
        if (File.Exists("/usr/bin/openssl"))
        {
            var (code, text) = OpenSsl("verify", "-CAfile", Path.Combine(certs, "ca.crt"), Path.Combine(certs, "worker-1.crt"));
            Assert.True(code == 0, text);
            Assert.Contains(": OK", text, StringComparison.Ordinal);
            var (_, details) = OpenSsl("x509", "-in", Path.Combine(certs, "worker-1.crt"), "-noout", "-text");
            Assert.Contains("DNS:worker-1, DNS:localhost, DNS:w1.cluster, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.2", details, StringComparison.Ordinal);
        }

        var again = CliProcess.RunIn(dir.Path, "certs", "init");
        Assert.Equal(3, again.ExitCode);
        Assert.Contains("exists", again.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, CliProcess.RunIn(dir.Path, "certs", "init", "--force").ExitCode);

        // A node issued by the new authority; the old node's certificate no longer verifies.
        var badName = CliProcess.RunIn(dir.Path, "certs", "issue", "../escape");
        Assert.Equal(2, badName.ExitCode);
        Assert.Contains("not a node name", badName.Stderr, StringComparison.Ordinal);
        var badIp = CliProcess.RunIn(dir.Path, "certs", "issue", "n2", "--ip", "10.0.0.300");
        Assert.Equal(2, badIp.ExitCode);
        Assert.Contains("--ip '10.0.0.300'", badIp.Stderr, StringComparison.Ordinal);
        var noAuthority = CliProcess.RunIn(dir.Path, "certs", "issue", "n3", "--dir", "elsewhere");
        Assert.Equal(3, noAuthority.ExitCode);
        Assert.Contains("does not exist", noAuthority.Stderr, StringComparison.Ordinal);
        if (File.Exists("/usr/bin/openssl"))
        {
            Assert.NotEqual(0, OpenSsl("verify", "-CAfile", Path.Combine(certs, "ca.crt"), Path.Combine(certs, "worker-1.crt")).Code);
        }
    }

    private static (int Code, string Text) OpenSsl(params string[] args)
    {
        var info = new ProcessStartInfo("/usr/bin/openssl", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, text);
    }
}
