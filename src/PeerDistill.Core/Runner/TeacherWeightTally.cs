namespace PeerDistill.Core.Runner;

/// <summary>
/// The mean weight of each teacher over a peer's steps with teachers (a teacher absent at a step
/// counts 0 there), for the summary: who taught this peer, and how much.
/// </summary>
public sealed class TeacherWeightTally
{
    private readonly SortedDictionary<string, double> _sums = new(StringComparer.Ordinal);
    private long _steps;

    /// <summary>Adds one step's mean weights (null: the step had none to report).</summary>
    public void Add(IReadOnlyDictionary<string, double>? weights)
    {
        if (weights is null || weights.Count == 0)
        {
            return;
        }

        _steps++;
        foreach (var (teacher, weight) in weights)
        {
            _sums[teacher] = _sums.GetValueOrDefault(teacher) + weight;
        }
    }

    /// <summary>The means by teacher name; null when no step reported weights.</summary>
    public IReadOnlyDictionary<string, double>? Means() =>
        _steps == 0 ? null : _sums.ToDictionary(s => s.Key, s => s.Value / _steps, StringComparer.Ordinal);
}
