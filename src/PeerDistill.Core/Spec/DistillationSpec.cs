namespace PeerDistill.Core.Spec;

/// <summary><c>distillation</c>: how the peers teach each other.</summary>
public sealed record DistillationSpec
{
    /// <summary><c>strategy</c>: a key of the strategy registry (dml; none trains the peers independently).</summary>
    public string Strategy { get; init; } = "dml";

    /// <summary><c>temperature</c>: T &gt; 0.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary><c>alpha</c>: weight of the distillation term.</summary>
    public double Alpha { get; init; } = 1.0;

    /// <summary><c>alpha_warmup_steps</c>: alpha ramps linearly from 0 over these first steps.</summary>
    public long AlphaWarmupSteps { get; init; }

    /// <summary><c>teacher</c>: pairwise (mean of KLs to each teacher, the DML paper's form) or ensemble.</summary>
    public string Teacher { get; init; } = "pairwise";

    /// <summary><c>combine</c>: additive (CE + alpha KD, the DML form) or convex ((1 - alpha) CE + alpha KD).</summary>
    public string Combine { get; init; } = "additive";

    /// <summary><c>label_smoothing</c> of the cross-entropy term.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary><c>teachers</c>: who teaches whom, peer name -> its teachers' names. Default: all-to-all.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Teachers { get; init; }

    /// <summary><c>weights</c>: teacher weights by teacher peer name (default 1 each).</summary>
    public IReadOnlyDictionary<string, double>? Weights { get; init; }

    /// <summary><c>federated</c>: rounds of fedmd and feddf.</summary>
    public FederatedSpec Federated { get; init; } = new();

    /// <summary>
    /// <c>logit_noise_sigma</c>: standard deviation of Gaussian noise added to every published logit
    /// (seeded per peer and step). A privacy knob, not a guarantee: no differential-privacy accounting is done.
    /// </summary>
    public double LogitNoiseSigma { get; init; }

    /// <summary>
    /// <c>weighting</c> (strategy multi-teacher): how a student weights its teachers: uniform, fixed
    /// (<c>weights</c>), entropy (per sample), correctness (per sample, CA-MKD) or validation-accuracy
    /// (per teacher, measured once at the start). Default uniform.
    /// </summary>
    public string Weighting { get; init; } = "uniform";

    /// <summary><c>weighting_temperature</c>: temperature of the softmax over teachers of the entropy and correctness rules. Default 1.</summary>
    public double WeightingTemperature { get; init; } = 1.0;

    /// <summary><c>hint</c> (strategy multi-teacher): a hint term from a frozen teacher's intermediate output; null for none.</summary>
    public HintSpec? Hint { get; init; }
}
