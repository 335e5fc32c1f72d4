namespace PeerDistill.Core.Spec;

/// <summary><c>peers[i].schedule</c>: the learning rate per step.</summary>
public sealed record ScheduleSpec
{
    /// <summary><c>kind</c>: constant, step or cosine.</summary>
    public string Kind { get; init; } = "constant";

    /// <summary><c>warmup_steps</c>: linear warm-up length.</summary>
    public long WarmupSteps { get; init; }

    /// <summary><c>step_size</c> (step): steps between decays.</summary>
    public long StepSize { get; init; }

    /// <summary><c>gamma</c> (step): decay factor.</summary>
    public double Gamma { get; init; } = 0.1;

    /// <summary><c>min_lr</c> (cosine): rate at the last step.</summary>
    public double MinLearningRate { get; init; }
}
