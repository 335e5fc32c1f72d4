using PeerDistill.Core.Data;
using PeerDistill.Core.Runner;
using PeerDistill.Core.Spec;
using PeerDistill.Torch;

namespace PeerDistill.Core.Strategies;

/// <summary>
/// The teachers' accuracies at the start of a run, for weighting validation-accuracy, measured the
/// same way in every process: each teacher is built from its spec on the CPU (a frozen teacher from
/// its file, a live one from its model, options and seed: its initial weights) and evaluated on the
/// cohort's evaluation set (the validation split when there is one, else the test set). So a student
/// measures remote live teachers without asking them, and embedded and distributed runs agree.
/// </summary>
public static class TeacherAccuracyProbe
{
    /// <summary>Accuracy of every peer that teaches someone in <paramref name="teachers"/>, by name.</summary>
    public static IReadOnlyDictionary<string, double> Measure(CohortSpec spec, IReadOnlyDictionary<string, IReadOnlyList<string>> teachers, CohortData data)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(teachers);
        ArgumentNullException.ThrowIfNull(data);
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var name in teachers.Values.SelectMany(t => t).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var peer = spec.Peers.First(p => p.Name == name) with { Device = "cpu" };
            using var model = PeerModels.Build(peer, data.Shape, data.Classes);
            model.Eval();
            result[name] = ModelEvaluation.Evaluate(model, data.Evaluation, data.Normalization, spec.Evaluation.BatchSize).Accuracy;
        }

        return result;
    }
}
