namespace PeerDistill.Torch;

/// <summary>Hyper-parameters of an optimizer; fields that do not apply to the kind are ignored.</summary>
public sealed record OptimizerOptions
{
    public OptimizerKind Kind { get; init; } = OptimizerKind.Sgd;

    public double LearningRate { get; init; } = 0.01;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; }

    /// <summary>SGD dampening.</summary>
    public double Dampening { get; init; }

    /// <summary>SGD Nesterov momentum (needs momentum &gt; 0 and dampening 0).</summary>
    public bool Nesterov { get; init; }

    /// <summary>L2 penalty (SGD, Adam) or decoupled weight decay (AdamW).</summary>
    public double WeightDecay { get; init; }

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    public double Epsilon { get; init; } = 1e-8;

    public bool AmsGrad { get; init; }
}
