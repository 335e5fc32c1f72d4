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

    [Fact]
    public async Task FederatedSpecs_EmbeddedAndDistributed_GiveIdenticalPerStepLosses_AndNoFrameIsRefused()
    {
        // Two workers of two slots: some frames cross the network, some are handed over in process.
        using var dir = new TempDirectory();
        await using var cluster = await Cluster.StartAsync(dir.Path, [], output);
        string[] workers = ["w1", "w2"];
        foreach (var w in workers)
        {
            cluster.StartWorker(w, 2);
            await cluster.WaitForLineAsync(w, "joined the cluster", 1, TimeSpan.FromSeconds(60));
        }

        foreach (var (cohort, text) in new[] { ("fedmd", FedMd), ("feddf", FedDf) })
        {
            var spec = Path.Combine(dir.Path, $"{cohort}.yaml");
            await File.WriteAllTextAsync(spec, text.Replace("cohort: fed", $"cohort: {cohort}", StringComparison.Ordinal));
            var submit = CliProcess.RunIn(dir.Path, "submit", spec, "--coordinator", cluster.Url, "--wait");
            Assert.True(submit.ExitCode == 0, submit.Stderr + submit.Stdout);
            var embedded = CliProcess.RunIn(dir.Path, "run", spec, "--output", Path.Combine(dir.Path, $"embedded-{cohort}"));
            Assert.True(embedded.ExitCode == 0, embedded.Stderr);

            var expected = MetricsFiles.Embedded(Path.Combine(dir.Path, $"embedded-{cohort}"));
            var actual = MetricsFiles.Distributed(Directory.GetDirectories(Path.Combine(dir.Path, "runs", cohort)).Single());
            Assert.True(expected.Count > 40, $"{cohort}: only {expected.Count} step records");
            Assert.Equal(expected.Count, actual.Count);
            foreach (var (key, loss) in expected)
            {
                Assert.True(actual[key] == loss, $"{cohort} {key}: embedded {loss:R}, distributed {actual[key]:R}");
            }
        }

        foreach (var w in workers)
        {
            Assert.Equal(0, cluster.Printed(w, "refused a logits frame"));
            Assert.Equal(0, cluster.Printed(w, "refused a frame of"));
            Assert.Equal(0, cluster.Printed(w, "without"));
        }
    }
}
