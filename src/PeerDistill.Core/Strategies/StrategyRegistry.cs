using PeerDistill.Core.Spec;
using PeerDistill.Torch;

namespace PeerDistill.Core.Strategies;

/// <summary>Strategies by spec key, the one list of them (the spec's checks and schema read it). A new strategy is one class and one line here.</summary>
public static class StrategyRegistry
{
    private static readonly Dictionary<string, Func<CohortSpec, IDistillationStrategy>> Factories = new(StringComparer.Ordinal)
    {
        [DmlStrategy.StrategyKey] = spec => new DmlStrategy(DmlOptionsFrom(spec)),
        [IndependentStrategy.StrategyKey] = spec => new IndependentStrategy(spec.Distillation.LabelSmoothing),
        [FedMdStrategy.StrategyKey] = spec => new FedMdStrategy(FederatedOptionsFrom(spec)),
        [FedDfStrategy.StrategyKey] = spec => new FedDfStrategy(FederatedOptionsFrom(spec)),
        [MultiTeacherStrategy.StrategyKey] = MultiTeacher,
    };

    public static IReadOnlyCollection<string> Keys { get; } = [.. Factories.Keys];

    /// <summary>The strategy the spec asks for.</summary>
    public static IDistillationStrategy Create(CohortSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Factories.TryGetValue(spec.Distillation.Strategy, out var factory)
            ? factory(spec)
            : throw new ArgumentException($"distillation.strategy: unknown strategy '{spec.Distillation.Strategy}' (known: {string.Join(", ", Keys)})");
    }

    /// <summary>The same peers without distillation: the baseline of a cohort.</summary>
    public static IDistillationStrategy Baseline(CohortSpec spec) => new IndependentStrategy(spec.Distillation.LabelSmoothing);

    private static FederatedOptions FederatedOptionsFrom(CohortSpec spec) => new(
        spec.Peers.Where(p => p.Role != PeerSpec.ServerRole).Select(p => p.Name).ToList(),
        spec.Peers.FirstOrDefault(p => p.Role == PeerSpec.ServerRole)?.Name,
        spec.Distillation.Temperature,
        spec.Distillation.LabelSmoothing);

    private static DmlOptions DmlOptionsFrom(CohortSpec spec)
    {
        var d = spec.Distillation;
        var names = spec.Peers.Select(p => p.Name).ToList();
        var teachers = names.ToDictionary(
            n => n,
            n => d.Teachers is not null && d.Teachers.TryGetValue(n, out var t) ? t : (IReadOnlyList<string>)names.Where(m => m != n).ToList(),
            StringComparer.Ordinal);
        foreach (var frozen in spec.Peers.Where(p => p.Frozen))
        {
            // A frozen peer learns from nobody, whatever the strategy.
            teachers[frozen.Name] = [];
        }

        return new DmlOptions(
            d.Temperature,
            d.Alpha,
            d.AlphaWarmupSteps,
            d.Teacher == "ensemble" ? TeacherForm.Ensemble : TeacherForm.Pairwise,
            d.Combine == "convex" ? LossCombination.Convex : LossCombination.Additive,
            d.LabelSmoothing,
            teachers,
            d.Weights ?? new Dictionary<string, double>());
    }

    private static MultiTeacherStrategy MultiTeacher(CohortSpec spec)
    {
        var dml = DmlOptionsFrom(spec);
        var options = new MultiTeacherOptions(
            dml.Temperature,
            dml.Alpha,
            dml.AlphaWarmupSteps,
            dml.Form,
            dml.Combination,
            dml.LabelSmoothing,
            dml.Teachers,
            dml.Weights,
            MultiTeacherStrategy.ParseWeighting(spec.Distillation.Weighting),
            spec.Distillation.WeightingTemperature,
            spec.Peers.Where(p => p.Frozen).Select(p => p.Name).ToHashSet(StringComparer.Ordinal));
        return new MultiTeacherStrategy(
            options,
            options.Weighting == TeacherWeighting.ValidationAccuracy ? data => TeacherAccuracyProbe.Measure(spec, options.Teachers, data) : null);
    }
}
