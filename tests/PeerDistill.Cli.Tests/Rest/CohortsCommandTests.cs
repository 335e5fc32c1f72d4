using System.Net;
using System.Text.Json;
using Xunit;

namespace PeerDistill.Cli.Tests.Rest;

/// <summary>`peerdistill cohorts ...` against a coordinator process (no workers: submitted runs stay pending).</summary>
public sealed class CohortsCommandTests(RestCoordinator coordinator) : IClassFixture<RestCoordinator>
{
    private string Grpc => coordinator.Cluster.Url;

    [Fact]
    public async Task ListGetCancel_TablesForPeople_JsonForScripts()
    {
        using var created = await coordinator.PostAsync("api/v1/runs", TestSpecs.Pair.Replace("cohort: pair", "cohort: cli-list", StringComparison.Ordinal), "application/yaml");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var run = (await RestCoordinator.JsonOf(created)).GetProperty("run").GetString()!;

        var table = CliProcess.Run("cohorts", "list", "--coordinator", Grpc);
        var json = CliProcess.Run("cohorts", "list", "--coordinator", Grpc, "--cohort", "cli-list", "--json");
        var get = CliProcess.Run("cohorts", "get", "cli-list", "--coordinator", Grpc, "--json");
        var cancel = CliProcess.Run("cohorts", "cancel", "cli-list", "--coordinator", Grpc, "--reason", "from the CLI");
        var resume = CliProcess.Run("cohorts", "resume", "cli-list", "--coordinator", Grpc);

        Assert.True(table.ExitCode == 0, table.Stderr);
        Assert.StartsWith("COHORT", table.Stdout, StringComparison.Ordinal);
        Assert.Contains(table.Stdout.Split('\n'), l => l.StartsWith("cli-list ", StringComparison.Ordinal) && l.Contains(run, StringComparison.Ordinal) && l.Contains("pending", StringComparison.Ordinal));
        Assert.Equal(run, JsonDocument.Parse(json.Stdout).RootElement.GetProperty("cohorts")[0].GetProperty("run").GetString());
        Assert.Equal("COHORT_STATE_PENDING", JsonDocument.Parse(get.Stdout).RootElement.GetProperty("state").GetString());
        Assert.True(cancel.ExitCode == 0, cancel.Stderr);
        Assert.Contains("cancelled", cancel.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, resume.ExitCode); // refused in the run's state
        Assert.Contains("FailedPrecondition", resume.Stderr, StringComparison.Ordinal);

        var delete = CliProcess.Run("cohorts", "delete", "cli-list", "--coordinator", Grpc);
        var gone = CliProcess.Run("cohorts", "get", "cli-list", "--coordinator", Grpc);
        Assert.True(delete.ExitCode == 0, delete.Stderr);
        Assert.Equal(2, gone.ExitCode);
        Assert.Contains("NotFound", gone.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("list", "--state", "sleeping")]
    [InlineData("get", "nosuch")]
    [InlineData("update", "nosuch", "--set", "alpha")]
    public void BadArgumentsOrUnknownRuns_ExitTwoSayingWhy(params string[] args)
    {
        var result = CliProcess.Run(["cohorts", .. args, "--coordinator", Grpc]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("cohorts " + args[0] + ":", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void SetPairs_BecomeOneNestedChange()
    {
        Assert.Equal("""{"distillation":{"alpha":0.5,"temperature":2},"lr_scale":0.25,"evaluation":{"at_epoch_end":false}}""",
            CohortsCommand.ChangeText(["distillation.alpha=0.5", "distillation.temperature=2", "lr_scale=0.25", "evaluation.at_epoch_end=false"]));
    }
}
