using System.Globalization;
using PeerDistill.Core.Spec.Internal;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Core.Spec;

/// <summary>
/// The rules of <see cref="CohortChange"/>s, in one place for the spec's <c>changes</c> and for live
/// updates of a running cohort: which strategies take which change, and the steps they fall at.
/// </summary>
public static class CohortChanges
{
    /// <summary>
    /// The problems of <paramref name="change"/> for a cohort of <paramref name="spec"/>, beyond the
    /// ranges of its values: each with the path of the field within the change and what is wrong.
    /// </summary>
    public static IReadOnlyList<(string Field, string Message)> Problems(CohortSpec spec, CohortChange change)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(change);
        return Problems(spec.Distillation, change);
    }

    /// <summary>
    /// Whether every change of <paramref name="spec"/> falls within a run of
    /// <paramref name="totalSteps"/> steps (known once the data is): null, or the problem with its path.
    /// </summary>
    public static string? StepProblem(CohortSpec spec, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(spec);
        for (var i = 0; i < spec.Changes.Count; i++)
        {
            if (spec.Changes[i].Step >= totalSteps)
            {
                return string.Create(CultureInfo.InvariantCulture, $"changes[{i}].step: must be below the run's {totalSteps} steps (a change holds from its step on), got {spec.Changes[i].Step}");
            }
        }

        return null;
    }

    /// <summary>
    /// Reads a live update of a running cohort of <paramref name="spec"/>: YAML or JSON with the
    /// fields of an entry of <c>changes</c>, without its step (the cohort announces it). Every
    /// problem is returned with its path; <see cref="ChangeLoadResult.Change"/> is null then.
    /// </summary>
    public static ChangeLoadResult ParseUpdate(string text, CohortSpec spec, string sourceName = "change")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(spec);
        var context = new SpecContext(sourceName);
        var origin = new Mark(0, 1, 1);
        if (System.Text.Encoding.UTF8.GetByteCount(text) > SpecLimits.MaxBytes)
        {
            context.Report(string.Empty, $"a change may have at most {SpecLimits.MaxBytes} bytes", origin);
            return new ChangeLoadResult(null, context.Errors);
        }

        var stream = new YamlStream();
        var parser = new Parser(new StringReader(text));
        try
        {
            stream.Load(new BoundedParser(parser));
        }
        catch (SpecLimitException e)
        {
            context.Report(string.Empty, e.Message, e.At);
            return new ChangeLoadResult(null, context.Errors);
        }
        catch (YamlException e)
        {
            context.Report(string.Empty, e.Message, e.Start);
            return new ChangeLoadResult(null, context.Errors);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            context.Report(string.Empty, "invalid YAML after this point", parser.Current?.End ?? origin);
            return new ChangeLoadResult(null, context.Errors);
        }

        if (stream.Documents.Count != 1)
        {
            context.Report(string.Empty, "expected one change: a mapping such as {distillation: {alpha: 0.5}}", origin);
            return new ChangeLoadResult(null, context.Errors);
        }

        var root = stream.Documents[0].RootNode;
        var change = new ChangeReader(context).Read(root, string.Empty, withStep: false);
        if (change is not null)
        {
            foreach (var (field, message) in Problems(spec, change))
            {
                context.Report(field, message, root);
            }
        }

        return new ChangeLoadResult(context.HasErrors ? null : change, context.Errors);
    }

    internal static IReadOnlyList<(string Field, string Message)> Problems(DistillationSpec distillation, CohortChange change)
    {
        var problems = new List<(string, string)>();
        var strategy = distillation.Strategy;
        var weighted = strategy is Strategies.DmlStrategy.StrategyKey or Strategies.MultiTeacherStrategy.StrategyKey;
        foreach (var (field, set) in new[] { ("distillation.alpha", change.Alpha is not null), ("distillation.alpha_warmup_steps", change.AlphaWarmupSteps is not null) })
        {
            if (set && !weighted)
            {
                problems.Add((field, $"only strategies {Strategies.DmlStrategy.StrategyKey} and {Strategies.MultiTeacherStrategy.StrategyKey} weight a distillation term by alpha (strategy is {strategy})"));
            }
        }

        if (change.Temperature is not null && strategy == Strategies.IndependentStrategy.StrategyKey)
        {
            problems.Add(("distillation.temperature", $"strategy {strategy} does not distil"));
        }

        if (weighted && change.Alpha is { } alpha && alpha > 1 && distillation.Combine == SpecFields.Convex)
        {
            problems.Add(("distillation.alpha", $"must be <= 1 when combine is {SpecFields.Convex}, got {SpecField.Format(alpha)}"));
        }

        return problems;
    }
}
