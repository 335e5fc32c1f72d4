using System.Globalization;
using System.Text;

namespace PeerDistill.Core.Spec;

/// <summary>
/// A change of a running cohort's settings from one step on: an entry of the spec's <c>changes</c>,
/// or a live update announced to a running cohort (which picks its <see cref="Step"/>). Only the
/// settings that every peer can take at a step boundary without a restart are here: the
/// distillation weight and its warm-up, the temperature, a multiplier on every peer's learning rate,
/// and the cadence of evaluations and checkpoints. A null value leaves that setting as it is.
/// </summary>
public sealed record CohortChange
{
    /// <summary>
    /// <c>step</c>: the change holds from this step on (after this many steps are done), for every
    /// peer; 0 in a live update that has not been given its step yet.
    /// </summary>
    public long Step { get; init; }

    /// <summary><c>distillation.alpha</c>: the new weight of the distillation term.</summary>
    public double? Alpha { get; init; }

    /// <summary><c>distillation.alpha_warmup_steps</c>: alpha ramps linearly from 0 over the run's first steps (counted from step 0, as in the spec).</summary>
    public long? AlphaWarmupSteps { get; init; }

    /// <summary><c>distillation.temperature</c>: the new softmax temperature T of the distillation term.</summary>
    public double? Temperature { get; init; }

    /// <summary><c>lr_scale</c>: a multiplier on every peer's learning rate as its schedule gives it (1 before any change).</summary>
    public double? LearningRateScale { get; init; }

    /// <summary><c>evaluation.every_steps</c>: evaluate every N steps (0 = only at epoch ends).</summary>
    public long? EvaluationEverySteps { get; init; }

    /// <summary><c>evaluation.at_epoch_end</c>: evaluate at the end of every epoch.</summary>
    public bool? EvaluationAtEpochEnd { get; init; }

    /// <summary><c>checkpoints.every_steps</c>: checkpoint every N steps.</summary>
    public long? CheckpointEverySteps { get; init; }

    /// <summary>Whether it changes nothing.</summary>
    public bool IsEmpty => Fields.Count == 0;

    /// <summary>The spec paths of the settings it changes, with their new values (<c>distillation.alpha</c> -> <c>0.5</c>), in spec order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields
    {
        get
        {
            var fields = new List<KeyValuePair<string, string>>();
            Add(fields, "distillation.alpha", Alpha);
            Add(fields, "distillation.alpha_warmup_steps", AlphaWarmupSteps);
            Add(fields, "distillation.temperature", Temperature);
            Add(fields, "lr_scale", LearningRateScale);
            Add(fields, "evaluation.every_steps", EvaluationEverySteps);
            if (EvaluationAtEpochEnd is { } atEpochEnd)
            {
                fields.Add(new("evaluation.at_epoch_end", atEpochEnd ? "true" : "false"));
            }

            Add(fields, "checkpoints.every_steps", CheckpointEverySteps);
            return fields;
        }
    }

    /// <summary>The same change at <paramref name="step"/>.</summary>
    public CohortChange At(long step) => this with { Step = step };

    /// <summary>This change's values over <paramref name="earlier"/>'s (a value this one leaves null keeps the earlier one).</summary>
    public CohortChange Over(CohortChange earlier)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        return new CohortChange
        {
            Step = Step,
            Alpha = Alpha ?? earlier.Alpha,
            AlphaWarmupSteps = AlphaWarmupSteps ?? earlier.AlphaWarmupSteps,
            Temperature = Temperature ?? earlier.Temperature,
            LearningRateScale = LearningRateScale ?? earlier.LearningRateScale,
            EvaluationEverySteps = EvaluationEverySteps ?? earlier.EvaluationEverySteps,
            EvaluationAtEpochEnd = EvaluationAtEpochEnd ?? earlier.EvaluationAtEpochEnd,
            CheckpointEverySteps = CheckpointEverySteps ?? earlier.CheckpointEverySteps,
        };
    }

    /// <summary><c>distillation.alpha=0.5, lr_scale=0.1 from step 40</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(string.Join(", ", Fields.Select(f => $"{f.Key}={f.Value}")));
        if (Step > 0)
        {
            text.Append(" from step ").Append(Step.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    private static void Add(List<KeyValuePair<string, string>> fields, string path, double? value)
    {
        if (value is { } v)
        {
            fields.Add(new(path, v.ToString("R", CultureInfo.InvariantCulture)));
        }
    }

    private static void Add(List<KeyValuePair<string, string>> fields, string path, long? value)
    {
        if (value is { } v)
        {
            fields.Add(new(path, v.ToString(CultureInfo.InvariantCulture)));
        }
    }
}
