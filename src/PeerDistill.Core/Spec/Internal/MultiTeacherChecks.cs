using PeerDistill.Core.Strategies;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// The cross-field rules of <c>distillation.weighting</c> and its companions: they belong to the
/// multi-teacher strategy; fixed weighting needs <c>weights</c> and <c>weights</c> needs fixed; a
/// multi-teacher cohort has at least one student (a live peer with teachers); per-sample rules need
/// the teachers' logits of the learner's own batch (the synchronous exchange).
/// </summary>
internal static class MultiTeacherChecks
{
    /// <summary>Reports what is wrong; <paramref name="weightingGiven"/> and <paramref name="temperatureGiven"/> say whether those fields were given with valid values (invalid ones are reported already).</summary>
    public static void Check(
        SpecContext context, MappingReader r, DistillationSpec spec, bool weightingGiven, bool temperatureGiven, IReadOnlyList<string>? names, IReadOnlySet<string> frozen, ExchangeSpec exchange)
    {
        if (spec.Strategy != MultiTeacherStrategy.StrategyKey)
        {
            foreach (var (key, given) in new[] { ("weighting", weightingGiven), ("weighting_temperature", temperatureGiven) })
            {
                if (given)
                {
                    context.Report(r.PathOf(key), $"only for strategy {MultiTeacherStrategy.StrategyKey}", r.Node(key)!);
                }
            }

            return;
        }

        var weighting = spec.Weighting;
        var perSample = weighting is MultiTeacherStrategy.Entropy or MultiTeacherStrategy.Correctness;
        if (temperatureGiven && !perSample)
        {
            context.Report(r.PathOf("weighting_temperature"), $"only for weighting {MultiTeacherStrategy.Entropy} or {MultiTeacherStrategy.Correctness} (weighting is {weighting})", r.Node("weighting_temperature")!);
        }

        var weightsNode = r.Node("weights");
        if (weightsNode is not null && weighting != MultiTeacherStrategy.Fixed)
        {
            context.Report(r.PathOf("weights"), $"only for weighting {MultiTeacherStrategy.Fixed} (weighting is {weighting})", weightsNode);
        }

        if (weighting == MultiTeacherStrategy.Fixed && weightsNode is null)
        {
            context.Report(r.PathOf("weighting"), $"{MultiTeacherStrategy.Fixed} needs distillation.weights (teacher name -> weight)", r.Node("weighting")?.Start ?? r.Start);
        }

        if (perSample && exchange.Mode != ExchangeSpec.Synchronous)
        {
            context.Report(
                r.PathOf("weighting"),
                $"per-sample weighting ({weighting}) needs exchange.mode {ExchangeSpec.Synchronous}: it weighs the teachers on the learner's own batch",
                r.Node("weighting")!);
        }

        if (names is null || spec.Teachers is null)
        {
            return;
        }

        var students = names.Where(n => !frozen.Contains(n) && spec.Teachers[n].Count > 0).ToList();
        if (students.Count == 0)
        {
            context.Report(r.PathOf("strategy"), $"{MultiTeacherStrategy.StrategyKey} needs a student: a peer that is not frozen and has teachers", r.Node("strategy")?.Start ?? r.Start);
        }

        if (weighting == MultiTeacherStrategy.Fixed && weightsNode is not null && spec.Weights is not null)
        {
            foreach (var student in students.Where(s => spec.Teachers[s].Sum(t => spec.Weights[t]) <= 0))
            {
                context.Report(r.PathOf("weights"), $"the teachers of {SpecContext.Quote(student)} ({string.Join(", ", spec.Teachers[student])}) all have weight 0", weightsNode);
            }
        }
    }

    /// <summary>
    /// Frozen teachers are for strategies that know them (multi-teacher, which keeps them in step
    /// with their learners, and none): under another strategy a frozen teacher would run ahead of
    /// the peers that learn from it.
    /// </summary>
    public static void CheckFrozenStrategy(SpecContext context, MappingReader? distillation, string strategy, IReadOnlyList<PeerSpec>? peers, YamlDotNet.Core.Mark rootStart)
    {
        var frozen = peers?.Where(p => p.Frozen).Select(p => p.Name).ToList() ?? [];
        if (frozen.Count == 0 || strategy is MultiTeacherStrategy.StrategyKey or IndependentStrategy.StrategyKey || !StrategyRegistry.Keys.Contains(strategy))
        {
            return;
        }

        var at = distillation?.Node("strategy")?.Start ?? distillation?.Start ?? rootStart;
        context.Report(
            distillation?.PathOf("strategy") ?? "distillation.strategy",
            $"frozen peers ({string.Join(", ", frozen)}) need strategy {MultiTeacherStrategy.StrategyKey} (or {IndependentStrategy.StrategyKey}), not {strategy}",
            at);
    }
}
