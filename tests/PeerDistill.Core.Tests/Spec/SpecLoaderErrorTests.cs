using Xunit;
using static PeerDistill.Core.Tests.Spec.SpecText;

namespace PeerDistill.Core.Tests.Spec;

/// <summary>Every rule of the loader: each bad spec gives exactly one error, at the right path, saying what is wrong.</summary>
public class SpecLoaderErrorTests
{
    private const string Zoo = "mlp, cnn, resnet8, resnet20, resnet32, mobilenetv2";

    public static TheoryData<string, string, string> Cases() => new()
    {
        // The document.
        { string.Empty, string.Empty, "empty spec" },
        { "# only a comment\n", string.Empty, "empty spec" },
        { "- cohort: demo\n", string.Empty, "expected a mapping with cohort, peers and data, got a list" },
        { "cohort: [demo\n", string.Empty, "did not find expected" },
        { Minimal + "cohort: again\n", string.Empty, "Duplicate key" },
        { Minimal + "---\ncohort: second\n", string.Empty, "expected one document" },

        // The top level.
        { With("extra: 1"), "extra", "unknown field (known: cohort, peers, distillation, data, evaluation, checkpoints, exchange, tracing, changes, output)" },
        { Minimal.Replace("cohort: demo\n", string.Empty, StringComparison.Ordinal), "cohort", "missing required field" },
        { Minimal.Replace("cohort: demo\n", "cohort:\n", StringComparison.Ordinal), "cohort", "missing required field" },
        { "cohort: demo\ndata: {dataset: synthetic}\n", "peers", "missing required field" },
        { "cohort: demo\npeers: [{name: a, model: mlp}]\n", "data", "missing required field" },
        { "cohort: demo\npeers: []\ndata: {}\n", "peers", "expected 1 to 256 peers, got 0" },
        { "cohort: demo\npeers: {a: mlp}\ndata: {}\n", "peers", "expected a list, got a mapping" },
        { "cohort: demo\npeers: [mlp]\ndata: {}\n", "peers[0]", "expected a mapping, got 'mlp'" },
        { Minimal.Replace("cohort: demo", "cohort: 'my cohort'", StringComparison.Ordinal), "cohort", "invalid cohort name 'my cohort': use 1 to 100 letters, digits, '.', '-' or '_'" },
        { Minimal.Replace("cohort: demo", $"cohort: {new string('c', 101)}", StringComparison.Ordinal), "cohort", "invalid cohort name" },
        { Minimal.Replace("cohort: demo", "cohort: {name: demo}", StringComparison.Ordinal), "cohort", "expected a string, got a mapping" },
        { With("output: [a, b]"), "output", "expected a string, got a list" },

        // A peer.
        { WithPeerA("optimiser: {kind: sgd}"), "peers[0].optimiser", "unknown field (known: name, model, model_options, optimizer, schedule, device, seed, threads, role, frozen, checkpoint)" },
        { Minimal.Replace("  - name: b\n    model: cnn", "  - model: cnn", StringComparison.Ordinal), "peers[1].name", "missing required field" },
        { Minimal.Replace("    model: cnn\n", string.Empty, StringComparison.Ordinal), "peers[1].model", "missing required field" },
        { Minimal.Replace("name: b", "name: 'b c'", StringComparison.Ordinal), "peers[1].name", "invalid peer name 'b c': use 1 to 64 letters, digits, '-' or '_'" },
        { Minimal.Replace("name: b", $"name: {new string('p', 65)}", StringComparison.Ordinal), "peers[1].name", "invalid peer name" },
        { Minimal.Replace("name: b", "name: a", StringComparison.Ordinal), "peers[1].name", "duplicate peer name 'a' (first used by peers[0])" },
        { Minimal.Replace("model: cnn", "model: resnet99", StringComparison.Ordinal), "peers[1].model", $"unknown model 'resnet99' (known: {Zoo})" },
        { Minimal.Replace("model: cnn", "model: nets/missing.pt", StringComparison.Ordinal), "peers[1].model", "missing.pt' not found" },
        { WithPeerA("model_options: {depth: 3}"), "peers[0].model_options", "unknown option 'depth'" },
        { WithPeerA("model_options: {dropout: 2}"), "peers[0].model_options", "option 'dropout' must be in" },
        { WithPeerA("model_options: {widths: [64, -1]}"), "peers[0].model_options", "option 'widths' must be a comma-separated list of positive integers" },
        { WithPeerA("model_options: {widths: {a: 1}}"), "peers[0].model_options.widths", "expected a value or a list of values, got a mapping" },
        { WithPeerA("model_options: {widths: }"), "peers[0].model_options.widths", "expected a value or a list of values, got nothing" },
        { WithPeerA("model_options: {dropout: '0.1;x=1'}"), "peers[0].model_options.dropout", "must not contain ';'" },
        { WithPeerA("model_options: {'a=b': 1}"), "peers[0].model_options", "invalid option name 'a=b'" },
        { WithPeerA("model_options: [widths]"), "peers[0].model_options", "expected a mapping, got a list" },
        { WithPeerA("device: gpu"), "peers[0].device", "invalid device 'gpu': use cpu, cuda or cuda:N" },
        { WithPeerA("device: 'cuda:x'"), "peers[0].device", "invalid device 'cuda:x'" },
        { WithPeerA("device: \"cpu\\n\""), "peers[0].device", "invalid device 'cpu\\n'" },
        { WithPeerA("threads: 0"), "peers[0].threads", "must be in [1, 256], got 0" },
        { WithPeerA("threads: 257"), "peers[0].threads", "must be in [1, 256], got 257" },
        { WithPeerA("threads: many"), "peers[0].threads", "expected an integer, got 'many'" },
        { WithPeerA("seed: 1.5"), "peers[0].seed", "expected an integer, got '1.5'" },

        // A peer's optimizer.
        { WithPeerA("optimizer: {kind: rmsprop}"), "peers[0].optimizer.kind", "unknown optimizer 'rmsprop' (known: sgd, adam, adamw)" },
        { WithPeerA("optimizer: {lr: -0.1}"), "peers[0].optimizer.lr", "must be in [0, 10], got -0.1" },
        { WithPeerA("optimizer: {lr: fast}"), "peers[0].optimizer.lr", "expected a number, got 'fast'" },
        { WithPeerA("optimizer: {momentum: 1}"), "peers[0].optimizer.momentum", "must be in [0, 1), got 1" },
        { WithPeerA("optimizer: {momentum: -0.5}"), "peers[0].optimizer.momentum", "must be in [0, 1), got -0.5" },
        { WithPeerA("optimizer: {weight_decay: -1}"), "peers[0].optimizer.weight_decay", "must be in [0, 1], got -1" },
        { WithPeerA("optimizer: {betas: [0.9]}"), "peers[0].optimizer.betas", "expected exactly 2 betas, got 1" },
        { WithPeerA("optimizer: {betas: [0.9, 0.99, 0.999]}"), "peers[0].optimizer.betas", "expected exactly 2 betas, got 3" },
        { WithPeerA("optimizer: {betas: [0.9, 1.0]}"), "peers[0].optimizer.betas[1]", "must be in [0, 1), got 1.0" },
        { WithPeerA("optimizer: {betas: [x, 0.9]}"), "peers[0].optimizer.betas[0]", "expected a number, got 'x'" },
        { WithPeerA("optimizer: {betas: 0.9}"), "peers[0].optimizer.betas", "expected a list, got '0.9'" },
        { WithPeerA("optimizer: {eps: 0}"), "peers[0].optimizer.eps", "must be in [1E-12, 1], got 0" },
        { WithPeerA("optimizer: {nesterov: true, momentum: 0}"), "peers[0].optimizer.nesterov", "needs momentum > 0" },
        { WithPeerA("optimizer: {nesterov: yes}"), "peers[0].optimizer.nesterov", "expected true or false, got 'yes'" },
        { WithPeerA("optimizer: {rate: 0.1}"), "peers[0].optimizer.rate", "unknown field (known: kind, lr, momentum, nesterov, weight_decay, betas, eps)" },
        { WithPeerA("optimizer: sgd"), "peers[0].optimizer", "expected a mapping, got 'sgd'" },

        // A peer's schedule.
        { WithPeerA("schedule: {kind: linear}"), "peers[0].schedule.kind", "unknown schedule 'linear' (known: constant, step, cosine)" },
        { WithPeerA("schedule: {kind: step}"), "peers[0].schedule.step_size", "must be > 0 when kind is step" },
        { WithPeerA("schedule: {kind: step, step_size: 0}"), "peers[0].schedule.step_size", "must be > 0 when kind is step" },
        { WithPeerA("schedule: {kind: step, step_size: -3}"), "peers[0].schedule.step_size", "must be in [0, 1000000000], got -3" },
        { WithPeerA("schedule: {warmup_steps: -1}"), "peers[0].schedule.warmup_steps", "must be in [0, 1000000000], got -1" },
        { WithPeerA("schedule: {gamma: 0}"), "peers[0].schedule.gamma", "must be in (0, 1], got 0" },
        { WithPeerA("schedule: {min_lr: -1}"), "peers[0].schedule.min_lr", "must be in [0, 10], got -1" },
        { WithPeerA("schedule: {every: 1}"), "peers[0].schedule.every", "unknown field (known: kind, warmup_steps, step_size, gamma, min_lr)" },

        // Distillation.
        { With("distillation: {strategy: x}"), "distillation.strategy", "unknown strategy 'x' (known: dml, none, fedmd, feddf, multi-teacher)" },
        { With("distillation: {temperature: hot}"), "distillation.temperature", "expected a number, got 'hot'" },
        { With("distillation: {temperature: '2'}"), "distillation.temperature", "expected a number, got the string '2'" },
        { With("distillation: {temperature: .nan}"), "distillation.temperature", "expected a number, got '.nan'" },
        { With("distillation: {temperature: 0}"), "distillation.temperature", "must be in [0.01, 100], got 0" },
        { With("distillation: {alpha: -1}"), "distillation.alpha", "must be in [0, 100], got -1" },
        { With("distillation: {alpha: 1.5, combine: convex}"), "distillation.alpha", "must be <= 1 when combine is convex, got 1.5" },
        { With("distillation: {alpha_warmup_steps: -5}"), "distillation.alpha_warmup_steps", "must be in [0, 1000000000], got -5" },
        { With("distillation: {label_smoothing: 1}"), "distillation.label_smoothing", "must be in [0, 1), got 1" },
        { With("distillation: {teacher: mean}"), "distillation.teacher", "unknown teacher form 'mean' (known: pairwise, ensemble)" },
        { With("distillation: {combine: sum}"), "distillation.combine", "unknown combine rule 'sum' (known: additive, convex)" },
        { With("distillation: {teachers: {z: [a]}}"), "distillation.teachers.z", "unknown peer 'z' (peers: a, b)" },
        { With("distillation: {teachers: {a: [z]}}"), "distillation.teachers.a[0]", "unknown peer 'z' (peers: a, b)" },
        { With("distillation: {teachers: {a: [a]}}"), "distillation.teachers.a[0]", "a peer may not teach itself" },
        { With("distillation: {teachers: {a: [b, b]}}"), "distillation.teachers.a[1]", "duplicate teacher 'b'" },
        { With("distillation: {teachers: {a: b}}"), "distillation.teachers.a", "expected a list, got 'b'" },
        { With("distillation: {teachers: {a: }}"), "distillation.teachers.a", "expected a list of peer names, got nothing" },
        { With("distillation: {teachers: [a, b]}"), "distillation.teachers", "expected a mapping, got a list" },
        { With("distillation: {weights: {z: 1}}"), "distillation.weights.z", "unknown peer 'z' (peers: a, b)" },
        { With("distillation: {weights: {a: -1}}"), "distillation.weights.a", "must be in [0, 1000], got -1" },
        { With("distillation: {weights: {a: heavy}}"), "distillation.weights.a", "expected a number, got 'heavy'" },
        { With("distillation: {tau: 2}"), "distillation.tau", "unknown field (known: strategy, temperature, alpha, alpha_warmup_steps, teacher, combine, label_smoothing, teachers, weights, federated, logit_noise_sigma, weighting, weighting_temperature, hint)" },
        { With("distillation: dml"), "distillation", "expected a mapping, got 'dml'" },

        // Data.
        { WithData("dataset: imagenet").Replace("  dataset: fashion-mnist\n", string.Empty, StringComparison.Ordinal), "data.dataset", "unknown dataset 'imagenet' (known: fashion-mnist, synthetic)" },
        { WithData("batch_size: 0"), "data.batch_size", "must be in [1, 8192], got 0" },
        { WithData("batch_size: 3000000000"), "data.batch_size", "must be in [1, 8192], got 3000000000" },
        { WithData("epochs: 0"), "data.epochs", "must be in [1, 10000], got 0" },
        { WithData("train_subset: -1"), "data.train_subset", "must be in [0, 10000000], got -1" },
        { WithData("validation_split: 0.95"), "data.validation_split", "must be in [0, 0.9], got 0.95" },
        { WithData("seed: x"), "data.seed", "expected an integer, got 'x'" },
        { WithData("augmentation: {crop_padding: 17}"), "data.augmentation.crop_padding", "must be in [0, 16], got 17" },
        { WithData("augmentation: {crop_padding: -1}"), "data.augmentation.crop_padding", "must be in [0, 16], got -1" },
        { WithData("augmentation: {horizontal_flip: maybe}"), "data.augmentation.horizontal_flip", "expected true or false, got 'maybe'" },
        { WithData("augmentation: {rotate: 10}"), "data.augmentation.rotate", "unknown field (known: crop_padding, horizontal_flip)" },
        { WithData("augmentation: true"), "data.augmentation", "expected a mapping, got 'true'" },
        { WithData("synthetic: {classes: 4}"), "data.synthetic", "only for dataset synthetic" },
        { Synthetic("train_count: 0"), "data.synthetic.train_count", "must be in [1, 200000], got 0" },
        { Synthetic("test_count: 0"), "data.synthetic.test_count", "must be in [1, 100000], got 0" },
        { Synthetic("noise: -0.1"), "data.synthetic.noise", "must be in [0, 100], got -0.1" },
        { Synthetic("classes: 1"), "data.synthetic.classes", "must be in [2, 10000], got 1" },
        { Synthetic("classes: 10001"), "data.synthetic.classes", "must be in [2, 10000], got 10001" },
        { Synthetic("images: 10"), "data.synthetic.images", "unknown field (known: train_count, test_count, noise, classes)" },
        { WithData("shuffle: true"), "data.shuffle", "unknown field (known: dataset, path, batch_size, epochs, train_subset, validation_split, seed, augmentation, synthetic, partition, public)" },

        // Evaluation and checkpoints.
        { With("evaluation: {every_steps: -1}"), "evaluation.every_steps", "must be in [0, 1000000000], got -1" },
        { With("evaluation: {at_epoch_end: 1}"), "evaluation.at_epoch_end", "expected true or false, got '1'" },
        { With("evaluation: {batch_size: 0}"), "evaluation.batch_size", "must be in [1, 8192], got 0" },
        { With("evaluation: {split: test}"), "evaluation.split", "unknown field (known: every_steps, at_epoch_end, batch_size)" },
        { With("checkpoints: {every_steps: -1}"), "checkpoints.every_steps", "must be in [1, 1000000000], got -1" },
        { With("checkpoints: {every_steps: 0}"), "checkpoints.every_steps", "must be in [1, 1000000000], got 0" },
        { With("checkpoints: {keep_last: 0}"), "checkpoints.keep_last", "must be in [1, 1000], got 0" },
        { With("tracing: {every_steps: -1}"), "tracing.every_steps", "must be in [0, 1000000000], got -1" },
        { With("tracing: {slower_than_ms: -5}"), "tracing.slower_than_ms", "must be in [0, 86400000], got -5" },
        { With("checkpoints: {directory: [a]}"), "checkpoints.directory", "expected a string, got a list" },
        { With("checkpoints: {keep: 1}"), "checkpoints.keep", "unknown field (known: directory, every_steps, keep_last)" },

        // Exchange.
        { With("exchange: {mode: gossip}"), "exchange.mode", "unknown exchange mode 'gossip' (known: synchronous, bounded-staleness)" },
        { With("exchange: {max_staleness: -2}"), "exchange.max_staleness", "must be in [0, 1000], got -2" },
        { With("exchange: {wire_dtype: bf16}"), "exchange.wire_dtype", "unknown wire dtype 'bf16' (known: fp32, fp16, topk)" },
        { With("exchange: {quorum: -1}"), "exchange.quorum", "must be in [0, 255], got -1" },
        { With("exchange: {step_timeout_seconds: 0}"), "exchange.step_timeout_seconds", "must be in [0.01, 3600], got 0" },
        { With("exchange: {fp16: true}"), "exchange.fp16", "unknown field (known: mode, max_staleness, wire_dtype, topk, topk_rest, step_timeout_seconds, quorum, max_abs_logit)" },
        { With("exchange: {wire_dtype: topk, topk: 10}"), "exchange.topk", "10 is not below the data set's 10 classes; top-k keeps 1 to 9 classes per row" },
        { Synthetic("classes: 4") + "exchange: {wire_dtype: topk}\n", "exchange.topk", "the default 8 is not below the data set's 4 classes" },
        { With("exchange: {wire_dtype: topk, topk: 0}"), "exchange.topk", "must be in [1, 4096], got 0" },
        { With("exchange: {wire_dtype: topk, topk: 5000}"), "exchange.topk", "must be in [1, 4096], got 5000" },
        { With("exchange: {wire_dtype: topk, topk: 2.5}"), "exchange.topk", "expected an integer" },
        { With("exchange: {wire_dtype: topk, topk: 4, topk_rest: spread}"), "exchange.topk_rest", "unknown top-k rest 'spread' (known: uniform, drop)" },
        { With("exchange: {topk: 4}"), "exchange.topk", "only for wire_dtype topk (wire_dtype is fp32)" },
        { With("exchange: {topk: 0}"), "exchange.topk", "must be in [1, 4096], got 0" },
        { Synthetic("classes: 4") + "exchange: {wire_dtype: topk, topk: 0}\n", "exchange.topk", "must be in [1, 4096], got 0" },
        { With("exchange: {wire_dtype: fp16, topk_rest: drop}"), "exchange.topk_rest", "only for wire_dtype topk (wire_dtype is fp16)" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void InvalidSpec_ReportsOneErrorAtPath(string yaml, string path, string message)
    {
        var result = Parse(yaml);

        Assert.False(result.IsValid);
        Assert.Null(result.Spec);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line >= 1 && error.Column >= 1, $"no position: {error}");
        Assert.DoesNotContain('\n', error.ToString());
    }

    private static string Synthetic(string option) =>
        Minimal.Replace("dataset: fashion-mnist", $"dataset: synthetic\n  synthetic: {{{option}}}", StringComparison.Ordinal);
}
