using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>The settings every test run is given (tests/suite.runsettings), in force in the processes the tests start.</summary>
public class SuiteSettingsTests
{
    [Fact]
    public void OpenMpThreads_WaitPassively_InTheTestHostAndTheProcessesItStarts()
    {
        Assert.Equal("PASSIVE", Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"));
        var (code, stdout, stderr) = CliProcess.Run("info");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Contains("OMP_WAIT_POLICY=PASSIVE", stdout, StringComparison.Ordinal);
    }
}
