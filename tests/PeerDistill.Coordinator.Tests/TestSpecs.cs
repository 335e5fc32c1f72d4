namespace PeerDistill.Coordinator.Tests;

/// <summary>The specs the tests submit: examples/smoke.yaml as it is, and a three-peer variant.</summary>
internal static class TestSpecs
{
    /// <summary>examples/smoke.yaml: peers mlp and cnn on 3000 synthetic images.</summary>
    public const string Smoke = """
        cohort: smoke
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
        output: runs/smoke

        """;

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
}
