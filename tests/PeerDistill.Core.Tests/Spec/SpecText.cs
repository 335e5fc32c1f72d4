using PeerDistill.Core.Spec;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>Small valid specs and ways to bend them, for the loader tests.</summary>
internal static class SpecText
{
    public const string Minimal = """
        cohort: demo
        peers:
          - name: a
            model: mlp
          - name: b
            model: cnn
        data:
          dataset: fashion-mnist

        """;

    /// <summary>Every key the loader accepts, each once.</summary>
    public const string Full = """
        cohort: full.cohort-1
        peers:
          - name: a
            model: mlp
            model_options: {widths: [64, 32], dropout: 0.1}
            optimizer:
              kind: sgd
              lr: 0.1
              momentum: 0.8
              nesterov: true
              weight_decay: 0.0001
              betas: [0.8, 0.99]
              eps: 1e-7
            schedule:
              kind: step
              warmup_steps: 10
              step_size: 100
              gamma: 0.5
              min_lr: 0.001
            device: cpu
            seed: 42
            threads: 2
          - name: b
            model: cnn
            optimizer: {kind: adamw, lr: 0.001}
            schedule: {kind: cosine}
        distillation:
          strategy: dml
          temperature: 3
          alpha: 0.5
          alpha_warmup_steps: 50
          teacher: ensemble
          combine: convex
          label_smoothing: 0.1
          teachers: {a: [b], b: []}
          weights: {a: 2, b: 0.5}
        data:
          dataset: synthetic
          path: /tmp/data
          batch_size: 64
          epochs: 3
          train_subset: 1000
          validation_split: 0.1
          seed: 7
          augmentation: {crop_padding: 2, horizontal_flip: true}
          synthetic: {train_count: 500, test_count: 100, noise: 0.25, classes: 5}
        evaluation: {every_steps: 20, at_epoch_end: false, batch_size: 250}
        checkpoints: {directory: ckpt, every_steps: 200, keep_last: 3}
        exchange: {mode: bounded-staleness, max_staleness: 3, wire_dtype: topk, topk: 3, topk_rest: drop, step_timeout_seconds: 10, quorum: 1, max_abs_logit: 1000}
        tracing: {every_steps: 50, slower_than_ms: 250}
        changes:
          - {step: 10, lr_scale: 0.5, distillation: {alpha: 0.3, alpha_warmup_steps: 5, temperature: 2}}
          - {step: 20, evaluation: {every_steps: 10, at_epoch_end: true}, checkpoints: {every_steps: 100}}
        output: out/full

        """;

    /// <summary>The federated keys a dml spec may not have, for fedmd (with <see cref="FullFedDf"/>, each key once).</summary>
    public const string FullFedMd = """
        cohort: full-fedmd
        peers:
          - {name: a, model: mlp, role: participant}
          - {name: b, model: cnn}
        distillation:
          strategy: fedmd
          temperature: 2
          federated: {rounds: 3, public_batches: 4, local_epochs: 2, public_warmup_steps: 10}
          logit_noise_sigma: 0.1
        data:
          dataset: synthetic
          public: {fraction: 0.1}
          partition: {kind: dirichlet, alpha: 0.5, seed: 4}

        """;

    /// <summary>The federated keys of feddf that <see cref="FullFedMd"/> cannot have with it.</summary>
    public const string FullFedDf = """
        cohort: full-feddf
        peers:
          - {name: s, model: mlp, role: server}
          - {name: a, model: mlp}
          - {name: b, model: mlp}
        distillation:
          strategy: feddf
          federated: {rounds: 2}
        data:
          dataset: synthetic
          public: {count: 100}
          partition: {kind: shards, shards_per_client: 2}

        """;

    /// <summary><see cref="FullFedMd"/> with <paramref name="from"/> replaced by <paramref name="to"/>.</summary>
    public static string FedMd(string from, string to) => Bend(FullFedMd, from, to);

    /// <summary><see cref="FullFedDf"/> with <paramref name="from"/> replaced by <paramref name="to"/>.</summary>
    public static string FedDf(string from, string to) => Bend(FullFedDf, from, to);

    private static string Bend(string text, string from, string to) =>
        text.Contains(from, StringComparison.Ordinal) ? text.Replace(from, to, StringComparison.Ordinal) : throw new ArgumentException($"'{from}' is not in the spec", nameof(from));

    /// <summary>Every key of multi-teacher distillation that <see cref="Full"/> cannot hold, in a valid spec around a frozen mlp at <paramref name="checkpoint"/>.</summary>
    public static string FullMultiTeacher(string checkpoint) => $$$"""
        cohort: multi
        peers:
          - {name: t, model: mlp, frozen: true, checkpoint: '{{{checkpoint}}}'}
          - {name: s, model: mlp, frozen: false}
        distillation: {strategy: multi-teacher, weighting: entropy, weighting_temperature: 2, hint: {teacher: t, teacher_layer: fc1, student_layer: fc0, students: [s], weight: 0.5}}
        data: {dataset: fashion-mnist}

        """;

    /// <summary><see cref="Minimal"/> with <paramref name="lines"/> (YAML at the top level) appended.</summary>
    public static string With(string lines) => Minimal + lines + "\n";

    /// <summary><see cref="Minimal"/> with <paramref name="line"/> (one YAML line, flow style for nesting) added to peer a.</summary>
    public static string WithPeerA(string line) =>
        Minimal.Replace("    model: mlp\n", $"    model: mlp\n    {line}\n", StringComparison.Ordinal);

    /// <summary><see cref="Minimal"/> with <paramref name="line"/> added to the data section.</summary>
    public static string WithData(string line) => With($"  {line}");

    public static SpecLoadResult Parse(string yaml) => SpecLoader.Parse(yaml, "spec.yaml");
}
