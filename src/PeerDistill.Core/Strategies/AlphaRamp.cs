namespace PeerDistill.Core.Strategies;

/// <summary>The distillation weight alpha at a step, ramped linearly from 0 over the spec's <c>alpha_warmup_steps</c> (DML and multi-teacher).</summary>
public static class AlphaRamp
{
    /// <summary>alpha * min(1, (step + 1) / warmup); alpha itself when there is no warm-up.</summary>
    public static double At(double alpha, long warmupSteps, long step) =>
        warmupSteps <= 0 ? alpha : alpha * Math.Min(1.0, (step + 1) / (double)warmupSteps);
}
