using Xunit;

namespace PeerDistill.Cli.Tests;

public sealed partial class DistributedTests
{
    [Fact]
    public async Task TopKSpec_EmbeddedAndDistributed_GiveIdenticalPerStepLosses()
    {
        // Two workers of one slot: every frame goes through the top-k codec over gRPC; the embedded
        // exchange applies the same transform in memory. One epoch of the smoke cohort.
        using var dir = new TempDirectory();
        var smoke = await File.ReadAllTextAsync(Path.Combine(CliProcess.Examples, "smoke.yaml"));
        var spec = Path.Combine(dir.Path, "smoke-topk.yaml");
        var dense = Path.Combine(dir.Path, "smoke-fp32.yaml");
        var oneEpoch = smoke.Replace("epochs: 3", "epochs: 1", StringComparison.Ordinal);
        Assert.NotEqual(smoke, oneEpoch);
        await File.WriteAllTextAsync(spec, oneEpoch + "exchange: {wire_dtype: topk, topk: 3, topk_rest: uniform}\n");
        await File.WriteAllTextAsync(dense, oneEpoch);
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        for (var i = 1; i <= 2; i++)
        {
            cluster.StartWorker($"w{i}", 1);
            await cluster.WaitForLineAsync($"w{i}", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        }

        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--wait");
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var embedded = CliProcess.RunIn(dir.Path, "run", spec, "--output", Path.Combine(dir.Path, "embedded"));
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);
        var exact = CliProcess.RunIn(dir.Path, "run", dense, "--output", Path.Combine(dir.Path, "exact"));
        Assert.True(exact.ExitCode == 0, exact.Stderr);

        var expected = MetricsFiles.Embedded(Path.Combine(dir.Path, "embedded"));
        var actual = MetricsFiles.Distributed(Directory.GetDirectories(Path.Combine(dir.Path, "runs", "smoke")).Single());
        Assert.Equal(94, expected.Count);
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (key, loss) in expected)
        {
            Assert.True(actual[key] == loss, $"{key}: embedded {loss:R}, distributed {actual[key]:R}");
        }

        // Top-k is lossy: the teachers differ from fp32 ones from the first step on.
        var fp32 = MetricsFiles.Embedded(Path.Combine(dir.Path, "exact"));
        Assert.NotEqual(fp32[("mlp", 0)], expected[("mlp", 0)]);
    }
}
