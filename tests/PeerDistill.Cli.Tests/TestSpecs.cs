namespace PeerDistill.Cli.Tests;

/// <summary>Cohort specs that several test classes start distributed cohorts with.</summary>
internal static class TestSpecs
{
    /// <summary>
    /// Two small mlp peers, thousands of steps (tests stop or cancel them long before the end), no
    /// periodic checkpoints, a step timeout no test waits out (600 s): a peer that waits does so
    /// because of what the test did.
    /// </summary>
    public const string Pair = """
        cohort: pair
        peers:
          - {name: a, model: mlp, model_options: {widths: [64]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 1}
          - {name: b, model: mlp, model_options: {widths: [48]}, optimizer: {kind: adam, lr: 0.002, weight_decay: 0}, seed: 2}
        distillation: {strategy: dml, temperature: 1, alpha: 1}
        data:
          dataset: synthetic
          batch_size: 32
          epochs: 200
          synthetic: {train_count: 2000, test_count: 200, noise: 0.5}
        evaluation: {at_epoch_end: false}
        checkpoints: {every_steps: 100000, keep_last: 3}
        exchange: {step_timeout_seconds: 600}
        """;
}
