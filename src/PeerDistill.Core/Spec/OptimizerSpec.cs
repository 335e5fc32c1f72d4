namespace PeerDistill.Core.Spec;

/// <summary><c>peers[i].optimizer</c>.</summary>
public sealed record OptimizerSpec
{
    /// <summary><c>kind</c>: sgd, adam or adamw.</summary>
    public string Kind { get; init; } = "sgd";

    /// <summary><c>lr</c>.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary><c>momentum</c> (sgd).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary><c>nesterov</c> (sgd).</summary>
    public bool Nesterov { get; init; }

    /// <summary><c>weight_decay</c>.</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary><c>betas</c> (adam, adamw): two numbers.</summary>
    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    /// <summary><c>eps</c> (adam, adamw).</summary>
    public double Epsilon { get; init; } = 1e-8;
}
