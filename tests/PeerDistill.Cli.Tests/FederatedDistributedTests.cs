using Xunit;
using Xunit.Abstractions;

namespace PeerDistill.Cli.Tests;

/// <summary>
/// fedmd and feddf distributed over real worker processes, against the same spec embedded: the
/// same numbers step for step, and no frame refused (a worker refuses, by its shape, any frame
/// that is not [public batch, classes] logits of a public step).
/// </summary>
public sealed class FederatedDistributedTests(ITestOutputHelper output)
{
    private const string FedMd = """
        cohort: fed
        peers:
          - {name: a, model: mlp, model_options: {widths: [32]}, optimizer: {kind: adam, lr: 0.003, weight_decay: 0}, seed: 1}
          - {name: b, model: mlp, model_options: {widths: [24]}, optimizer: {kind: adam, lr: 0.003, weight_decay: 0}, seed: 2}
          - {name: c, model: mlp, model_options: {widths: [16]}, optimizer: {kind: adam, lr: 0.003, weight_decay: 0}, seed: 3}
        distillation:
          strategy: fedmd
          temperature: 2
          federated: {rounds: 2, public_batches: 3, local_epochs: 1, public_warmup_steps: 2}
          logit_noise_sigma: 0.05
        data:
          dataset: synthetic
          batch_size: 32
          seed: 3
          public: {count: 160}
          partition: {kind: dirichlet, alpha: 0.1}
          synthetic: {train_count: 700, test_count: 200, noise: 0.4}
        evaluation: {at_epoch_end: false}
        checkpoints: {every_steps: 10, keep_last: 2}

        """;

    private static string FedDf => FedMd
        .Replace("strategy: fedmd", "strategy: feddf", StringComparison.Ordinal)
        .Replace(", public_warmup_steps: 2", string.Empty, StringComparison.Ordinal)
        .Replace("peers:\n", "peers:\n  - {name: s, role: server, model: mlp, model_options: {widths: [32]}, optimizer: {kind: adam, lr: 0.003, weight_decay: 0}, seed: 9}\n", StringComparison.Ordinal);

    [Theory]
    [InlineData("fedmd")]
    [InlineData("feddf")]
    public async Task FederatedSpec_EmbeddedAndDistributed_GiveIdenticalPerStepLosses_AndNoFrameIsRefused(string strategy)
    {
        using var dir = new TempDirectory();
        var spec = Path.Combine(dir.Path, "fed.yaml");
        await File.WriteAllTextAsync(spec, strategy == "fedmd" ? FedMd : FedDf);
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        // fedmd: three workers of one slot (every frame on the network); feddf: two of two (some handed over in process).
        var (workers, slots) = strategy == "fedmd" ? (3, 1) : (2, 2);
        for (var i = 1; i <= workers; i++)
        {
            cluster.StartWorker($"w{i}", slots);
            await cluster.WaitForLineAsync($"w{i}", "joined the cluster", 1, TimeSpan.FromSeconds(60));
        }

        var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--wait");
        Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
        var embedded = CliProcess.RunIn(dir.Path, "run", spec, "--output", Path.Combine(dir.Path, "embedded"));
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);

        var expected = MetricsFiles.Embedded(Path.Combine(dir.Path, "embedded"));
        var actual = MetricsFiles.Distributed(Directory.GetDirectories(Path.Combine(dir.Path, "runs", "fed")).Single());
        Assert.True(expected.Count > 40, $"only {expected.Count} step records");
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (key, loss) in expected)
        {
            Assert.True(actual[key] == loss, $"{key}: embedded {loss:R}, distributed {actual[key]:R}");
        }

        for (var i = 1; i <= workers; i++)
        {
            Assert.Equal(0, cluster.Printed($"w{i}", "refused a logits frame"));
            Assert.Equal(0, cluster.Printed($"w{i}", "refused a frame of"));
            Assert.Equal(0, cluster.Printed($"w{i}", "without"));
        }
    }
}
