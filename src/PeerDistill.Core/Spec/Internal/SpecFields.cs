using PeerDistill.Core.Exchange;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// The spec's fields, written once: the loader takes its known keys, types and ranges from here,
/// and <see cref="SpecSchema"/> writes the JSON schema from here. Defaults come from the records.
/// Leaves are declared before the objects that hold them (static fields initialise in order).
/// </summary>
internal static class SpecFields
{
    public const string PeerNamePattern = "^[A-Za-z0-9_-]{1,64}$";
    /// <summary>A cohort name names directories: it starts with a letter or digit, so it is never '.', '..' or hidden.</summary>
    public const string CohortNamePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$";
    public const string DevicePattern = "^(cpu|cuda(:[0-9]{1,3})?)$";
    public const string OptionKeyPattern = "^[A-Za-z0-9_]{1,64}$";

    /// <summary>The most peers in one cohort.</summary>
    public const int MaxPeers = 256;

    /// <summary>The longest value of a model option ("512,256").</summary>
    public const int MaxOptionLength = 256;

    /// <summary>The bound of every step count (warm-ups, intervals): a billion steps.</summary>
    public const double MaxSteps = 1e9;

    /// <summary>Seeds are 32-bit integers, exact in every JSON reader.</summary>
    public const double MinSeed = int.MinValue;

    /// <inheritdoc cref="MinSeed"/>
    public const double MaxSeed = int.MaxValue;

    public const string Convex = "convex";
    public const string StepSchedule = "step";
    public const string SyntheticDataset = "synthetic";
    public const string MultiTeacher = Strategies.MultiTeacherStrategy.StrategyKey;

    /// <summary>The values of <c>distillation.weighting</c>.</summary>
    public static readonly string[] MultiTeacherWeightings = [.. Strategies.MultiTeacherStrategy.Weightings];

    private static readonly PeerSpec PeerDefaults = new() { Name = "p", Model = "mlp" };
    private static readonly OptimizerSpec OptimizerDefaults = new();
    private static readonly ScheduleSpec ScheduleDefaults = new();
    private static readonly DistillationSpec DistillationDefaults = new();
    private static readonly HintSpec HintDefaults = new() { Teacher = "t", TeacherLayer = "l", StudentLayer = "l" };
    private static readonly DataSpec DataDefaults = new();
    private static readonly EvaluationSpec EvaluationDefaults = new();
    private static readonly CheckpointSpec CheckpointDefaults = new();
    private static readonly ExchangeSpec ExchangeDefaults = new();
    private static readonly FederatedSpec FederatedDefaults = new();

    public static readonly SpecObject Optimizer = new(
        "The optimizer of this peer.",
        new("kind", SpecValueKind.String, "Optimizer.") { Allowed = ["sgd", "adam", "adamw"], Noun = "optimizer", Default = OptimizerDefaults.Kind },
        new("lr", SpecValueKind.Number, "Base learning rate.") { Minimum = 0, Maximum = 10, Default = OptimizerDefaults.LearningRate },
        new("momentum", SpecValueKind.Number, "Momentum (sgd).") { Minimum = 0, Maximum = 1, ExclusiveMaximum = true, Default = OptimizerDefaults.Momentum },
        new("nesterov", SpecValueKind.Boolean, "Nesterov momentum (sgd); needs momentum > 0.") { Default = OptimizerDefaults.Nesterov },
        new("weight_decay", SpecValueKind.Number, "L2 weight decay (decoupled for adamw).") { Minimum = 0, Maximum = 1, Default = OptimizerDefaults.WeightDecay },
        new("betas", SpecValueKind.List, "Adam's two moment coefficients (adam, adamw).")
        {
            Items = new("beta", SpecValueKind.Number, "A moment coefficient.") { Minimum = 0, Maximum = 1, ExclusiveMaximum = true },
            MinItems = 2,
            MaxItems = 2,
            Default = new[] { OptimizerDefaults.Beta1, OptimizerDefaults.Beta2 },
        },
        new("eps", SpecValueKind.Number, "Adam's epsilon (adam, adamw).") { Minimum = 1e-12, Maximum = 1, Default = OptimizerDefaults.Epsilon });

    public static readonly SpecObject Schedule = new(
        "The learning rate per step.",
        new("kind", SpecValueKind.String, "Schedule.") { Allowed = ["constant", "step", "cosine"], Noun = "schedule", Default = ScheduleDefaults.Kind },
        new("warmup_steps", SpecValueKind.Integer, "Linear warm-up length in steps.") { Minimum = 0, Maximum = MaxSteps, Default = ScheduleDefaults.WarmupSteps },
        new("step_size", SpecValueKind.Integer, "Steps between decays (step); must be > 0 when kind is step.") { Minimum = 0, Maximum = MaxSteps, Default = ScheduleDefaults.StepSize },
        new("gamma", SpecValueKind.Number, "Decay factor (step).") { Minimum = 0, ExclusiveMinimum = true, Maximum = 1, Default = ScheduleDefaults.Gamma },
        new("min_lr", SpecValueKind.Number, "Learning rate at the last step (cosine).") { Minimum = 0, Maximum = 10, Default = ScheduleDefaults.MinLearningRate });

    public static readonly SpecObject Peer = new(
        "One peer of the cohort.",
        new("name", SpecValueKind.String, "Unique within the cohort: 1 to 64 letters, digits, '-' or '_'.")
        {
            Required = true, Pattern = PeerNamePattern, Noun = "peer name", PatternHint = "use 1 to 64 letters, digits, '-' or '_'",
        },
        new("model", SpecValueKind.String, "A zoo model (mlp, cnn, resnet8, resnet20, resnet32, mobilenetv2) or a TorchScript file (.pt, .pth, .ts) relative to the spec's directory.")
        {
            Required = true,
        },
        new("model_options", SpecValueKind.Map, "Options of a zoo model: mlp (widths, dropout), cnn (hidden, dropout), resnet8/20/32 (width), mobilenetv2 (width, head, dropout). A list becomes a comma-separated value.")
        {
            KeyPattern = OptionKeyPattern,
            MaxItems = 32,
            Items = new("option", SpecValueKind.ScalarOrList, $"An option's value: a scalar or a list of scalars, at most {MaxOptionLength} characters written out.") { MaxLength = MaxOptionLength },
        },
        new("optimizer", SpecValueKind.Object, "The optimizer.") { Object = Optimizer },
        new("schedule", SpecValueKind.Object, "The learning-rate schedule.") { Object = Schedule },
        new("device", SpecValueKind.String, "cpu, cuda or cuda:N.") { Pattern = DevicePattern, Noun = "device", PatternHint = "use cpu, cuda or cuda:N", Default = PeerDefaults.Device },
        new("seed", SpecValueKind.Integer, "Weight initialisation and dropout stream; default the peer's index.") { Minimum = MinSeed, Maximum = MaxSeed },
        new("threads", SpecValueKind.Integer, "Intra-op threads of this peer.") { Minimum = 1, Maximum = 256, Default = PeerDefaults.Threads },
        new("role", SpecValueKind.String, "participant, or server: feddf's one server (no private data; it distils the clients' averaged logits on the public split). Only feddf has a server.")
        {
            Allowed = [PeerSpec.ParticipantRole, PeerSpec.ServerRole], Noun = "role", Default = PeerDefaults.Role,
        },
        new("frozen", SpecValueKind.Boolean, "A frozen teacher: evaluated under no_grad in evaluation mode, never updated, its logits published every step; it learns from nobody and takes no optimizer or schedule. Needs trained weights: checkpoint, or a checkpoint (.ckpt) or TorchScript file as model.")
        {
            Default = PeerDefaults.Frozen,
        },
        new("checkpoint", SpecValueKind.String, "Frozen zoo model only: the checkpoint (.ckpt, e.g. from `peerdistill train --output`) whose weights it loads, relative to the spec's directory; its model must be the same zoo model with the same options."));

    public static readonly SpecObject Federated = new(
        "The rounds of a federated strategy (fedmd, feddf); only for those.",
        new("rounds", SpecValueKind.Integer, "Communication rounds.") { Minimum = 1, Maximum = 100_000, Default = FederatedDefaults.Rounds },
        new("public_batches", SpecValueKind.Integer, "Public batches per round on which logits are exchanged and distilled.") { Minimum = 1, Maximum = 1_000_000, Default = FederatedDefaults.PublicBatches },
        new("local_epochs", SpecValueKind.Integer, "Passes over its private partition each participant trains per round (FedMD's revisit, FedDF's local training).") { Minimum = 1, Maximum = 1000, Default = FederatedDefaults.LocalEpochs },
        new("public_warmup_steps", SpecValueKind.Integer, "fedmd only: steps of cross-entropy on labelled public batches before the first round (FedMD's transfer learning).")
        {
            Minimum = 0, Maximum = MaxSteps, Default = FederatedDefaults.PublicWarmupSteps,
        });

    public static readonly SpecObject Hint = new(
        "A hint term (FitNets): a frozen teacher's named intermediate output taught to every student that learns from it, through a learned projection, as weight * MSE next to CE and KD.",
        new("teacher", SpecValueKind.String, "The frozen peer whose output is the hint.") { Required = true, Pattern = PeerNamePattern, Noun = "peer name", PatternHint = "use 1 to 64 letters, digits, '-' or '_'" },
        new("teacher_layer", SpecValueKind.String, "A named output of the teacher's model: mlp fc0, fc1, ...; cnn conv1, conv2, fc1; resnet8/20/32 layer1, layer2, layer3; mobilenetv2 features, head.") { Required = true, MaxLength = 64 },
        new("student_layer", SpecValueKind.String, "A named output of each student's model, of the same rank and spatial size as the teacher's (the projection maps channels).") { Required = true, MaxLength = 64 },
        new("students", SpecValueKind.List, "The students that take the hint (default: every student that learns from the teacher).")
        {
            MinItems = 1,
            MaxItems = MaxPeers - 1,
            Items = new("student", SpecValueKind.String, "A peer name.") { MaxLength = 64 },
        },
        new("weight", SpecValueKind.Number, "Weight of the hint term in the loss.") { Minimum = 0, Maximum = 1000, Default = HintDefaults.Weight });

    public static readonly SpecObject Distillation = new(
        "How the peers teach each other.",
        new("strategy", SpecValueKind.String, "Distillation strategy; none trains the peers independently.")
        {
            Allowed = SpecLoader.KnownStrategies, Noun = "strategy", Default = DistillationDefaults.Strategy,
        },
        new("temperature", SpecValueKind.Number, "Softmax temperature T of the distillation term.") { Minimum = 0.01, Maximum = 100, Default = DistillationDefaults.Temperature },
        new("alpha", SpecValueKind.Number, "Weight of the distillation term; at most 1 when combine is convex.") { Minimum = 0, Maximum = 100, Default = DistillationDefaults.Alpha },
        new("alpha_warmup_steps", SpecValueKind.Integer, "Alpha ramps linearly from 0 over these first steps.") { Minimum = 0, Maximum = MaxSteps, Default = DistillationDefaults.AlphaWarmupSteps },
        new("teacher", SpecValueKind.String, "pairwise: mean of the KLs to each teacher (DML); ensemble: KL to the teachers' mean.")
        {
            Allowed = ["pairwise", "ensemble"], Noun = "teacher form", Default = DistillationDefaults.Teacher,
        },
        new("combine", SpecValueKind.String, "additive: CE + alpha KD (DML); convex: (1 - alpha) CE + alpha KD.")
        {
            Allowed = ["additive", Convex], Noun = "combine rule", Default = DistillationDefaults.Combine,
        },
        new("label_smoothing", SpecValueKind.Number, "Label smoothing of the cross-entropy term.") { Minimum = 0, Maximum = 1, ExclusiveMaximum = true, Default = DistillationDefaults.LabelSmoothing },
        new("teachers", SpecValueKind.Map, "Who teaches whom: peer name -> its teachers' names. Peers not listed are taught by every other peer.")
        {
            KeyPattern = PeerNamePattern,
            Items = new("teachers", SpecValueKind.List, "The teachers' peer names.")
            {
                MaxItems = MaxPeers - 1,
                Items = new("teacher", SpecValueKind.String, "A peer name.") { MaxLength = 64 },
            },
        },
        new("weights", SpecValueKind.Map, "Teacher weights by teacher peer name (default 1 each); with strategy multi-teacher only for weighting fixed.")
        {
            KeyPattern = PeerNamePattern,
            Items = new("weight", SpecValueKind.Number, "A teacher's weight.") { Minimum = 0, Maximum = 1000 },
        },
        new("federated", SpecValueKind.Object, "Rounds of fedmd and feddf; only for those strategies.") { Object = Federated },
        new("logit_noise_sigma", SpecValueKind.Number, "Standard deviation of Gaussian noise added to every published logit, seeded per peer and step. A privacy knob, not a guarantee (no differential-privacy accounting).")
        {
            Minimum = 0, Maximum = 100, Default = DistillationDefaults.LogitNoiseSigma,
        },
        new("weighting", SpecValueKind.String, "Strategy multi-teacher: how a student weights its teachers. uniform; fixed (weights); entropy (per sample: softmax over teachers of -H/tau, H the entropy of a teacher's prediction); correctness (per sample, CA-MKD: (1 - softmax over teachers of CE/tau) / (K - 1), CE against the label); validation-accuracy (per teacher, proportional to its accuracy on the evaluation set measured once at the start).")
        {
            Allowed = MultiTeacherWeightings, Noun = "weighting", Default = DistillationDefaults.Weighting,
        },
        new("weighting_temperature", SpecValueKind.Number, "Strategy multi-teacher, weighting entropy or correctness: tau, the temperature of the softmax over teachers.")
        {
            Minimum = 0.01, Maximum = 100, Default = DistillationDefaults.WeightingTemperature,
        },
        new("hint", SpecValueKind.Object, "Strategy multi-teacher: a hint term from a frozen teacher's intermediate output.") { Object = Hint });

    public static readonly SpecObject Augmentation = new(
        "Training-time augmentation.",
        new("crop_padding", SpecValueKind.Integer, "Pad by this many pixels and crop back at random (0 = off).") { Minimum = 0, Maximum = 16, Default = DataDefaults.CropPadding },
        new("horizontal_flip", SpecValueKind.Boolean, "Flip half of the images left-right.") { Default = DataDefaults.HorizontalFlip });

    public static readonly SpecObject Synthetic = new(
        "The synthetic data set; only for dataset synthetic.",
        new("train_count", SpecValueKind.Integer, "Training images.") { Minimum = 1, Maximum = 200_000, Default = DataDefaults.SyntheticTrainCount },
        new("test_count", SpecValueKind.Integer, "Test images.") { Minimum = 1, Maximum = 100_000, Default = DataDefaults.SyntheticTestCount },
        new("noise", SpecValueKind.Number, "Standard deviation of the pixel noise.") { Minimum = 0, Maximum = 100, Default = DataDefaults.SyntheticNoise },
        new("classes", SpecValueKind.Integer, "Number of classes.") { Minimum = 2, Maximum = 10_000, Default = DataDefaults.SyntheticClasses });

    public static readonly SpecObject Partition = new(
        "How a federated run splits the private training images over its participants.",
        new("kind", SpecValueKind.String, "iid: equal random shares; dirichlet: each class split by proportions drawn from Dirichlet(alpha); shards: label-sorted shards, shards_per_client each.")
        {
            Allowed = [PartitionSpec.Iid, PartitionSpec.Dirichlet, PartitionSpec.Shards], Noun = "partition kind", Default = "iid",
        },
        new("alpha", SpecValueKind.Number, "Dirichlet concentration (dirichlet only; required there). Smaller is more skewed; 0.1, 0.5 and 1.0 are the usual settings.")
        {
            Minimum = 0.001, Maximum = 1000,
        },
        new("shards_per_client", SpecValueKind.Integer, "Shards per participant (shards only; required there); at most the number of classes.") { Minimum = 1, Maximum = 1000 },
        new("seed", SpecValueKind.Integer, "Seed of the partition (default the data seed).") { Minimum = MinSeed, Maximum = MaxSeed });

    public static readonly SpecObject Public = new(
        "The public split of a federated run: held out of the training images at random; only logits on it cross the wire.",
        new("fraction", SpecValueKind.Number, "Share of the training images held out as the public split (exactly one of fraction and count).") { Minimum = 0, ExclusiveMinimum = true, Maximum = 0.9 },
        new("count", SpecValueKind.Integer, "Number of training images held out as the public split (exactly one of fraction and count).") { Minimum = 1, Maximum = 10_000_000 });

    public static readonly SpecObject Data = new(
        "What every peer trains on, batch by batch in the same order.",
        new("dataset", SpecValueKind.String, "Data set; inputs are 1x28x28.") { Allowed = ["fashion-mnist", SyntheticDataset], Noun = "dataset", Default = DataDefaults.Dataset },
        new("path", SpecValueKind.String, "Directory of the data set's files (fashion-mnist default /usr/share/datasets/fashion-mnist)."),
        new("batch_size", SpecValueKind.Integer, "Training batch size.") { Minimum = 1, Maximum = 8192, Default = DataDefaults.BatchSize },
        new("epochs", SpecValueKind.Integer, "Passes over the training set.") { Minimum = 1, Maximum = 10_000, Default = DataDefaults.Epochs },
        new("train_subset", SpecValueKind.Integer, "Train on this many images drawn at random (0 = all).") { Minimum = 0, Maximum = 10_000_000, Default = DataDefaults.TrainSubset },
        new("validation_split", SpecValueKind.Number, "Fraction of the training images held out for validation (0 = none; evaluation then uses the test set).")
        {
            Minimum = 0, Maximum = 0.9, Default = DataDefaults.ValidationSplit,
        },
        new("seed", SpecValueKind.Integer, "Seed of the batch order, subset and augmentation.") { Minimum = MinSeed, Maximum = MaxSeed, Default = DataDefaults.Seed },
        new("augmentation", SpecValueKind.Object, "Training-time augmentation.") { Object = Augmentation },
        new("synthetic", SpecValueKind.Object, "Synthetic data set options; only for dataset synthetic.") { Object = Synthetic },
        new("partition", SpecValueKind.Object, "Federated strategies (fedmd, feddf) only: how the private images are split over the participants (default iid).") { Object = Partition },
        new("public", SpecValueKind.Object, "Federated strategies (fedmd, feddf) only, and required there: the public split.") { Object = Public });

    public static readonly SpecObject Evaluation = new(
        "When each peer is measured on held-out data.",
        new("every_steps", SpecValueKind.Integer, "Also evaluate every N steps (0 = only at epoch ends).") { Minimum = 0, Maximum = MaxSteps, Default = EvaluationDefaults.EverySteps },
        new("at_epoch_end", SpecValueKind.Boolean, "Evaluate at the end of every epoch.") { Default = EvaluationDefaults.AtEpochEnd },
        new("batch_size", SpecValueKind.Integer, "Evaluation batch size.") { Minimum = 1, Maximum = 8192, Default = EvaluationDefaults.BatchSize });

    public static readonly SpecObject Checkpoints = new(
        "When and where the peers are checkpointed.",
        new("directory", SpecValueKind.String, "Checkpoint directory (default <output>/checkpoints)."),
        new("every_steps", SpecValueKind.Integer, "Checkpoint every N steps (and at the end, and whenever a peer is stopped).") { Minimum = 1, Maximum = MaxSteps, Default = CheckpointDefaults.EverySteps },
        new("keep_last", SpecValueKind.Integer, "Checkpoints kept per peer.") { Minimum = 1, Maximum = 1000, Default = CheckpointDefaults.KeepLast });

    public static readonly SpecObject Tracing = new(
        "Which training steps become traces when the process exports traces (docs/observability.md); unset: the process's defaults.",
        new("every_steps", SpecValueKind.Integer, "Trace every Nth step of every peer (the same steps on all peers); 0 = none. Default: the process's (100).") { Minimum = 0, Maximum = MaxSteps },
        new("slower_than_ms", SpecValueKind.Number, "Also trace every step slower than this many milliseconds; 0 = none. Default: the process's (1000).") { Minimum = 0, Maximum = 86_400_000 });

    public static readonly SpecObject Exchange = new(
        "How peers exchange logits: in memory (embedded) or over gRPC (distributed), under the same policy and wire form.",
        new("mode", SpecValueKind.String, "synchronous: each step, wait for every live teacher's logits of that step; bounded-staleness: never wait, use each teacher's freshest logits at most max_staleness steps old, on the batch they were computed on.")
        {
            Allowed = [ExchangeSpec.Synchronous, ExchangeSpec.BoundedStaleness], Noun = "exchange mode", Default = ExchangeDefaults.Mode,
        },
        new("max_staleness", SpecValueKind.Integer, "Bounded-staleness mode: the oldest teacher logits used, in steps behind the learner.") { Minimum = 0, Maximum = 1000, Default = ExchangeDefaults.MaxStaleness },
        new("wire_dtype", SpecValueKind.String, "Form of logits between peers: fp32 (exact), fp16 (rounded to half precision) or topk (per row, the topk largest log-probabilities at T = 1 and their classes; the receiver fills in the rest as topk_rest says). Lossy forms apply to the embedded exchange too.")
        {
            Allowed = [ExchangeSpec.WireFp32, ExchangeSpec.WireFp16, ExchangeSpec.WireTopK], Noun = "wire dtype", Default = ExchangeDefaults.WireDType,
        },
        new("topk", SpecValueKind.Integer, "wire_dtype topk only: the classes kept per row; must be below the data set's classes.") { Minimum = 1, Maximum = SparseLogits.MaxK, Default = ExchangeDefaults.TopK },
        new("topk_rest", SpecValueKind.String, "wire_dtype topk only: uniform (the rest of a row's mass, 1 - the sum of its k probabilities, spread evenly over the other classes) or drop (the row renormalised over its k classes, the others at probability 0).")
        {
            Allowed = [ExchangeSpec.RestUniform, ExchangeSpec.RestDrop], Noun = "top-k rest", Default = ExchangeDefaults.TopKRest,
        },
        new("step_timeout_seconds", SpecValueKind.Number, "Synchronous mode: the longest wait for a live teacher's logits before stepping with the teachers present.")
        {
            Minimum = 0.01, Maximum = 3600, Default = ExchangeDefaults.StepTimeoutSeconds,
        },
        new("quorum", SpecValueKind.Integer, "The fewest teachers that must be present for a peer to step while others are missing.") { Minimum = 0, Maximum = MaxPeers - 1, Default = ExchangeDefaults.Quorum },
        new("max_abs_logit", SpecValueKind.Number, "The largest logit magnitude a peer may produce: a peer whose logits exceed it has diverged and leaves the cohort (as with NaN), and a frame that carries one is refused.")
        {
            Minimum = 1, Maximum = 1e30, Default = ExchangeDefaults.MaxAbsLogit,
        });

    /// <summary>The fields of one entry of <c>changes</c> that a change may set; each has the range of the field it changes (and no default: absent leaves it).</summary>
    public static readonly SpecObject ChangeDistillation = new(
        "The distillation settings a change may set (only these).",
        Distillation["alpha"] with { Default = null },
        Distillation["alpha_warmup_steps"] with { Default = null },
        Distillation["temperature"] with { Default = null });

    /// <inheritdoc cref="ChangeDistillation"/>
    public static readonly SpecObject ChangeEvaluation = new(
        "The evaluation cadence a change may set (only these).",
        Evaluation["every_steps"] with { Default = null },
        Evaluation["at_epoch_end"] with { Default = null });

    /// <inheritdoc cref="ChangeDistillation"/>
    public static readonly SpecObject ChangeCheckpoints = new(
        "The checkpoint cadence a change may set (only this).",
        Checkpoints["every_steps"] with { Default = null });

    public static readonly SpecObject Change = new(
        "A change of the settings from a step on, applied by every peer at the start of that step. Only alpha, alpha_warmup_steps, temperature, lr_scale and the evaluation and checkpoint cadence may change; every other field is refused with the reason.",
        new("step", SpecValueKind.Integer, "The change holds from this step on (after this many steps): 1 to the run's steps - 1, after the step of the change before.") { Required = true, Minimum = 1, Maximum = MaxSteps },
        new("lr_scale", SpecValueKind.Number, "A multiplier on every peer's learning rate as its schedule gives it (1 before any change).") { Minimum = 0, Maximum = 100 },
        new("distillation", SpecValueKind.Object, "New distillation settings.") { Object = ChangeDistillation },
        new("evaluation", SpecValueKind.Object, "New evaluation cadence.") { Object = ChangeEvaluation },
        new("checkpoints", SpecValueKind.Object, "New checkpoint cadence.") { Object = ChangeCheckpoints });

    /// <summary>The most entries of <c>changes</c>.</summary>
    public const int MaxChanges = 10_000;

    public static readonly SpecObject Cohort = new(
        "A PeerDistill cohort: peers that teach each other while they learn.",
        new("cohort", SpecValueKind.String, "Cohort name: 1 to 100 letters, digits, '.', '-' or '_', starting with a letter or digit.")
        {
            Required = true, Pattern = CohortNamePattern, Noun = "cohort name", PatternHint = "use 1 to 100 letters, digits, '.', '-' or '_', starting with a letter or digit",
        },
        new("peers", SpecValueKind.List, $"The peers, 1 to {MaxPeers}; names unique.")
        {
            Required = true, MinItems = 1, MaxItems = MaxPeers, Items = new("peer", SpecValueKind.Object, "A peer.") { Object = Peer },
        },
        new("distillation", SpecValueKind.Object, "How the peers teach each other.") { Object = Distillation },
        new("data", SpecValueKind.Object, "The data.") { Required = true, Object = Data },
        new("evaluation", SpecValueKind.Object, "Evaluation.") { Object = Evaluation },
        new("checkpoints", SpecValueKind.Object, "Checkpoints.") { Object = Checkpoints },
        new("exchange", SpecValueKind.Object, "Logit exchange between distributed peers.") { Object = Exchange },
        new("tracing", SpecValueKind.Object, "Which steps are traced when traces are exported.") { Object = Tracing },
        new("changes", SpecValueKind.List, "Changes of the settings from a step on, in step order (see docs/cohorts.md): alpha, alpha_warmup_steps and temperature under distillation, lr_scale, evaluation every_steps and at_epoch_end, checkpoints every_steps.")
        {
            MaxItems = MaxChanges, Items = new("change", SpecValueKind.Object, "A change.") { Object = Change },
        },
        new("output", SpecValueKind.String, "Output directory of `peerdistill run`, relative to the working directory (default runs/<cohort>). A coordinator writes a submitted cohort under its own runs root instead, and refuses an output outside it."));
}
