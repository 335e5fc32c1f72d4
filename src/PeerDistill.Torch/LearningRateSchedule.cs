namespace PeerDistill.Torch;

/// <summary>
/// Learning rate as a function of the step: an optional linear warm-up over the first
/// <see cref="WarmupSteps"/> steps (from BaseLearningRate / WarmupSteps up to BaseLearningRate),
/// then the chosen schedule over the remaining steps.
/// </summary>
public sealed record LearningRateSchedule
{
    public ScheduleKind Kind { get; init; } = ScheduleKind.Constant;

    public double BaseLearningRate { get; init; } = 0.01;

    /// <summary>Total optimizer steps of the run (needed by the cosine schedule).</summary>
    public long TotalSteps { get; init; }

    public long WarmupSteps { get; init; }

    /// <summary>Step schedule: steps between decays.</summary>
    public long StepSize { get; init; }

    /// <summary>Step schedule: decay factor.</summary>
    public double Gamma { get; init; } = 0.1;

    /// <summary>Cosine schedule: the rate reached at the last step.</summary>
    public double MinLearningRate { get; init; }

    /// <summary>The learning rate to use for (zero-based) step <paramref name="step"/>.</summary>
    public double At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (WarmupSteps > 0 && step < WarmupSteps)
        {
            return BaseLearningRate * (step + 1) / WarmupSteps;
        }

        var t = step - WarmupSteps;
        switch (Kind)
        {
            case ScheduleKind.Constant:
                return BaseLearningRate;
            case ScheduleKind.Step:
                if (StepSize <= 0)
                {
                    throw new InvalidOperationException("step schedule needs a positive StepSize");
                }

                return BaseLearningRate * Math.Pow(Gamma, t / StepSize);
            case ScheduleKind.Cosine:
                var span = Math.Max(1, TotalSteps - WarmupSteps);
                var progress = Math.Min(1.0, (double)t / span);
                return MinLearningRate + ((BaseLearningRate - MinLearningRate) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
            default:
                throw new InvalidOperationException($"unknown schedule {Kind}");
        }
    }
}
