using PeerDistill.Core.Runner;
using PeerDistill.Core.Strategies;
using PeerDistill.Torch;
using YamlDotNet.RepresentationModel;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// The rules of <c>distillation.hint</c>: multi-teacher only; its teacher a frozen peer (a live
/// teacher's intermediate outputs would have to cross the exchange, which carries logits only)
/// with at least one student; the synchronous exchange; and, with the engine, the named outputs
/// exist in the teacher's and every student's model with shapes a channel projection can match.
/// </summary>
internal static class HintChecks
{
    public static void Check(SpecContext context, MappingReader? distillation, DistillationSpec spec, IReadOnlyList<PeerSpec>? peers, ExchangeSpec exchange, int classes, bool engineChecks)
    {
        if (spec.Hint is not { } hint || distillation?.Node("hint") is not YamlMappingNode node)
        {
            return;
        }

        var path = distillation.PathOf("hint");
        YamlDotNet.Core.Mark At(string key) => node.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: var v } && v == key).Value?.Start ?? node.Start;
        if (spec.Strategy != MultiTeacherStrategy.StrategyKey)
        {
            context.Report(path, $"only for strategy {MultiTeacherStrategy.StrategyKey}", node);
            return;
        }

        if (peers is null || spec.Teachers is null)
        {
            return;
        }

        var teacher = peers.FirstOrDefault(p => p.Name == hint.Teacher);
        if (teacher is null)
        {
            context.Report(SpecPath.Field(path, "teacher"), $"unknown peer {SpecContext.Quote(hint.Teacher)} (peers: {string.Join(", ", peers.Select(p => p.Name))})", At("teacher"));
            return;
        }

        if (!teacher.Frozen)
        {
            context.Report(
                SpecPath.Field(path, "teacher"),
                $"peer {SpecContext.Quote(hint.Teacher)} is live: a hint needs the teacher's intermediate output on each student's side, and only a frozen teacher can be evaluated there (the exchange carries logits only); make it frozen",
                At("teacher"));
            return;
        }

        var learners = peers.Where(p => !p.Frozen && spec.Teachers[p.Name].Contains(hint.Teacher, StringComparer.Ordinal)).ToList();
        var students = hint.Students is null ? learners : learners.Where(p => hint.Students.Contains(p.Name, StringComparer.Ordinal)).ToList();
        foreach (var (name, i) in (hint.Students ?? []).Select((n, i) => (n, i)).Where(x => !learners.Any(l => l.Name == x.n)))
        {
            var item = node.Children.First(c => c.Key is YamlScalarNode { Value: "students" }).Value is YamlSequenceNode list ? list.Children[i].Start : node.Start;
            context.Report(
                SpecPath.Index(SpecPath.Field(path, "students"), i),
                peers.Any(p => p.Name == name) ? $"{SpecContext.Quote(name)} does not learn from {SpecContext.Quote(hint.Teacher)}" : $"unknown peer {SpecContext.Quote(name)} (peers: {string.Join(", ", peers.Select(p => p.Name))})",
                item);
        }

        if (students.Count == 0)
        {
            if (hint.Students is null || hint.Students.All(n => learners.Any(l => l.Name == n)))
            {
                context.Report(SpecPath.Field(path, "teacher"), $"no student learns from {SpecContext.Quote(hint.Teacher)}", At("teacher"));
            }

            return;
        }

        if (exchange.Mode != ExchangeSpec.Synchronous)
        {
            context.Report(path, $"needs exchange.mode {ExchangeSpec.Synchronous}: the hint is taken on the student's own batch", node);
            return;
        }

        if (!engineChecks)
        {
            return;
        }

        var shape = ZooModelCheck.Input;
        try
        {
            using var t = PeerModels.Build(teacher with { Device = "cpu" }, shape, classes);
            if (!t.OutputNames.Contains(hint.TeacherLayer, StringComparer.Ordinal))
            {
                context.Report(SpecPath.Field(path, "teacher_layer"), $"the teacher's model has no output {SpecContext.Quote(hint.TeacherLayer)} ({Known(t)})", At("teacher_layer"));
                return;
            }
        }
        catch (TorchException)
        {
            return; // the teacher's own problem is reported at its peer
        }

        foreach (var student in students)
        {
            try
            {
                var cpu = student with { Device = "cpu" };
                using var s = PeerModels.Build(cpu, shape, classes);
                if (!s.OutputNames.Contains(hint.StudentLayer, StringComparer.Ordinal))
                {
                    context.Report(SpecPath.Field(path, "student_layer"), $"student {SpecContext.Quote(student.Name)}'s model has no output {SpecContext.Quote(hint.StudentLayer)} ({Known(s)})", At("student_layer"));
                    continue;
                }

                using var term = HintTerm.Attach(hint, teacher, s, cpu, shape, classes);
            }
            catch (ArgumentException e)
            {
                context.Report(SpecPath.Field(path, "student_layer"), $"student {SpecContext.Quote(student.Name)}: {e.Message}", At("student_layer"));
            }
            catch (TorchException)
            {
                // A model that cannot be built is reported at its peer.
            }
        }
    }

    private static string Known(Model model) => model.OutputNames.Count == 0 ? "it has no named outputs" : $"its outputs: {string.Join(", ", model.OutputNames)}";
}
