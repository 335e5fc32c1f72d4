using YamlDotNet.RepresentationModel;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// Reads one change (an entry of <c>changes</c>, or the body of a live update) against
/// <see cref="SpecFields.Change"/>: the fields a change may set are read with the ranges of the
/// fields they change; any other field of the spec is refused with the reason it cannot change
/// while a cohort runs, and a key the spec does not have is an unknown field.
/// </summary>
internal sealed class ChangeReader(SpecContext context)
{
    // Why each field that a change may not set stays as the run started with it.
    private static readonly Dictionary<string, string> SectionReasons = new(StringComparer.Ordinal)
    {
        ["cohort"] = "it names the run, its directories and its records",
        ["peers"] = "it changes the peers' models, optimizers, devices or seeds, which each peer's weights, optimizer state and slot were made for",
        ["data"] = "it changes the data set or the batches, whose order every peer draws alike from the start",
        ["exchange"] = "it changes how logits cross between peers, which each exchange was set up with when the run started",
        ["output"] = "the run writes its metrics and summary there from the start",
        ["distillation"] = "it changes who teaches whom or the form of the loss, which each peer's strategy was built with when the run started",
        ["evaluation.batch_size"] = "only the cadence of evaluation changes (every_steps, at_epoch_end); the batch size is fixed with the run's evaluation data",
        ["checkpoints.directory"] = "a run's checkpoints stay in one directory, which its peers resume from",
        ["checkpoints.keep_last"] = "each peer's checkpoint store prunes by it from the start",
    };

    /// <summary>
    /// The change at <paramref name="path"/>; null when anything in it is wrong (reported). With
    /// <paramref name="withStep"/> false (a live update) a step is refused: the cohort picks it.
    /// </summary>
    public CohortChange? Read(YamlNode node, string path, bool withStep)
    {
        if (context.ExpectMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var ok = true;
        var change = new CohortChange();
        var hasStep = false;
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                context.Report(path, $"expected a field name, got {SpecContext.Describe(keyNode)}", keyNode);
                ok = false;
                continue;
            }

            var at = SpecPath.Field(path, key);
            if (SpecContext.IsNull(value))
            {
                context.Report(at, "expected a value, got nothing", keyNode);
                ok = false;
                continue;
            }

            switch (key)
            {
                case "step" when withStep:
                    hasStep = true;
                    if (context.ReadInteger(value, at, SpecFields.Change["step"]) is { } step)
                    {
                        change = change with { Step = step };
                    }
                    else
                    {
                        ok = false;
                    }

                    break;
                case "step":
                    context.Report(at, "a live update takes no step: the cohort announces the step every peer applies it at", keyNode);
                    ok = false;
                    break;
                case "lr_scale":
                    if (context.ReadNumber(value, at, SpecFields.Change["lr_scale"]) is { } scale)
                    {
                        change = change with { LearningRateScale = scale };
                    }
                    else
                    {
                        ok = false;
                    }

                    break;
                case "distillation" or "evaluation" or "checkpoints":
                    ok &= ReadSection(key, value, at, ref change);
                    break;
                default:
                    ok &= Refuse(key, value, at, keyNode);
                    break;
            }
        }

        if (withStep && !hasStep)
        {
            context.Report(SpecPath.Field(path, "step"), "missing required field", mapping);
            ok = false;
        }

        if (ok && change.IsEmpty)
        {
            context.Report(path, "changes nothing: give at least one of distillation.alpha, distillation.alpha_warmup_steps, distillation.temperature, lr_scale, evaluation.every_steps, evaluation.at_epoch_end, checkpoints.every_steps", mapping);
            ok = false;
        }

        return ok ? change : null;
    }

    private bool ReadSection(string section, YamlNode value, string path, ref CohortChange change)
    {
        if (context.ExpectMapping(value, path) is not { } mapping)
        {
            return false;
        }

        var table = section switch
        {
            "distillation" => SpecFields.Distillation,
            "evaluation" => SpecFields.Evaluation,
            _ => SpecFields.Checkpoints,
        };
        var ok = true;
        foreach (var (keyNode, node) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                context.Report(path, $"expected a field name, got {SpecContext.Describe(keyNode)}", keyNode);
                ok = false;
                continue;
            }

            var at = SpecPath.Field(path, key);
            if (table.Find(key) is not { } field)
            {
                context.Report(at, $"unknown field (known: {table.KnownKeys})", keyNode);
                ok = false;
                continue;
            }

            var name = $"{section}.{key}";
            if (SpecContext.IsNull(node))
            {
                context.Report(at, "expected a value, got nothing", keyNode);
                ok = false;
                continue;
            }

            var before = change;
            change = name switch
            {
                "distillation.alpha" => context.ReadNumber(node, at, field) is { } alpha ? change with { Alpha = alpha } : change,
                "distillation.alpha_warmup_steps" => context.ReadInteger(node, at, field) is { } warmup ? change with { AlphaWarmupSteps = warmup } : change,
                "distillation.temperature" => context.ReadNumber(node, at, field) is { } temperature ? change with { Temperature = temperature } : change,
                "evaluation.every_steps" => context.ReadInteger(node, at, field) is { } evaluate ? change with { EvaluationEverySteps = evaluate } : change,
                "evaluation.at_epoch_end" => context.ReadBoolean(node, at) is { } atEpochEnd ? change with { EvaluationAtEpochEnd = atEpochEnd } : change,
                "checkpoints.every_steps" => context.ReadInteger(node, at, field) is { } checkpoint ? change with { CheckpointEverySteps = checkpoint } : change,
                _ => Fixed(at, name, section, keyNode, change),
            };

            // A value read changes the record; one refused (reported) leaves it as it was.
            ok &= !ReferenceEquals(before, change);
        }

        return ok;
    }

    /// <summary>A field of the spec a change may not set (each of its fields, for a section), or an unknown one.</summary>
    private bool Refuse(string key, YamlNode value, string path, YamlNode keyNode)
    {
        if (!SectionReasons.TryGetValue(key, out var reason))
        {
            context.Report(path, $"unknown field (known: {SpecFields.Change.KnownKeys})", keyNode);
            return false;
        }

        var table = SpecFields.Cohort.Find(key)?.Object;
        if (value is YamlMappingNode mapping && table is not null && mapping.Children.Count > 0)
        {
            foreach (var (subKey, _) in mapping.Children)
            {
                var name = subKey is YamlScalarNode { Value: { } k } ? k : "?";
                var at = SpecPath.Field(path, name);
                context.Report(at, table.Find(name) is null ? $"unknown field (known: {table.KnownKeys})" : $"cannot change while a cohort runs ({reason})", subKey);
            }
        }
        else
        {
            context.Report(path, $"cannot change while a cohort runs ({reason})", keyNode);
        }

        return false;
    }

    private CohortChange Fixed(string path, string name, string section, YamlNode keyNode, CohortChange change)
    {
        context.Report(path, $"cannot change while a cohort runs ({SectionReasons.GetValueOrDefault(name) ?? SectionReasons[section]})", keyNode);
        return change;
    }
}
