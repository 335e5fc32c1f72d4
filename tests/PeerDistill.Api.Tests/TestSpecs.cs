namespace PeerDistill.Api.Tests;

/// <summary>The specs the tests submit: a three-peer variant of examples/smoke.yaml.</summary>
internal static class TestSpecs
{
    /// <summary>The smoke cohort with a third peer (a second, wider MLP).</summary>
    public const string Trio = """
        cohort: trio
        peers:
          - name: mlp
            model: mlp
            model_options: {widths: [128]}
            optimizer: {kind: adam, lr: 0.002, weight_decay: 0}
            seed: 1
          - name: cnn
            model: cnn
            model_options: {hidden: 64}
            optimizer: {kind: adam, lr: 0.002, weight_decay: 0}
            seed: 2
          - name: wide
            model: mlp
            model_options: {widths: [256]}
            optimizer: {kind: adam, lr: 0.002, weight_decay: 0}
            seed: 3
        distillation:
          strategy: dml
          temperature: 1
          alpha: 1
          teacher: pairwise
        data:
          dataset: synthetic
          batch_size: 64
          epochs: 3
          synthetic: {train_count: 3000, test_count: 500, noise: 0.3}
        checkpoints:
          every_steps: 20
          keep_last: 2
        output: runs/trio

        """;

    /// <summary>The trio spec with its own output and checkpoints replaced by <paramref name="lines"/>.</summary>
    public static string With(string lines) => Trio
        .Replace("checkpoints:\n  every_steps: 20\n  keep_last: 2\n", string.Empty, StringComparison.Ordinal)
        .Replace("output: runs/trio", lines, StringComparison.Ordinal);
}
