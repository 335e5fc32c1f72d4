using PeerDistill.Core.Spec;

namespace PeerDistill.Core.Tests.Runner;

/// <summary>Small federated cohorts on synthetic data (three participants, two rounds) that train in about a second.</summary>
internal static class FederatedSpecs
{
    public const string FedMd = """
        cohort: fedmd-test
        peers:
          - {name: a, model: mlp, model_options: {widths: [32]}, optimizer: {kind: adam, lr: 0.003, weight_decay: 0}, seed: 1}
          - {name: b, model: mlp, model_options: {widths: [24]}, optimizer: {kind: adam, lr: 0.003, weight_decay: 0}, seed: 2}
          - {name: c, model: cnn, model_options: {hidden: 16}, optimizer: {kind: adam, lr: 0.003, weight_decay: 0}, seed: 3}
        distillation:
          strategy: fedmd
          temperature: 2
          federated: {rounds: 2, public_batches: 3, local_epochs: 1, public_warmup_steps: 2}
        data:
          dataset: synthetic
          batch_size: 32
          seed: 3
          public: {count: 160}
          partition: {kind: dirichlet, alpha: 0.1}
          synthetic: {train_count: 700, test_count: 200, noise: 0.4}
        evaluation: {at_epoch_end: false}
        checkpoints: {every_steps: 5, keep_last: 20}

        """;

    /// <summary>The same participants with a server: feddf.</summary>
    public static string FedDf => FedMd
        .Replace("cohort: fedmd-test", "cohort: feddf-test", StringComparison.Ordinal)
        .Replace("strategy: fedmd", "strategy: feddf", StringComparison.Ordinal)
        .Replace(", public_warmup_steps: 2", string.Empty, StringComparison.Ordinal)
        .Replace("peers:\n", "peers:\n  - {name: s, role: server, model: mlp, model_options: {widths: [32]}, optimizer: {kind: adam, lr: 0.003, weight_decay: 0}, seed: 9}\n", StringComparison.Ordinal);

    public static CohortSpec Parse(string yaml, string? output = null)
    {
        var loaded = SpecLoader.Parse(yaml, "federated.yaml");
        if (loaded.Spec is not { } spec)
        {
            throw new InvalidOperationException(string.Join("; ", loaded.Errors));
        }

        return output is null ? spec : spec with { Output = output };
    }
}
