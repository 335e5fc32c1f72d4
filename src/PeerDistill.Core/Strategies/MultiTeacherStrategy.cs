using PeerDistill.Core.Data;
using PeerDistill.Core.Exchange;
using PeerDistill.Torch;

namespace PeerDistill.Core.Strategies;

/// <summary>
/// Multi-teacher distillation: each student (a live peer with teachers) learns on
/// CE + alpha * KD from teachers of two kinds in one cohort, frozen teachers (trained models, never
/// updated) and live peers (learning at the same time), weighted by the spec's rule
/// (<see cref="TeacherWeighting"/>): uniform, fixed, per-sample entropy, per-sample correctness
/// (CA-MKD) or each teacher's validation accuracy at the start. The weights of each step are
/// reported (<see cref="TeacherPlan.MeanWeights"/>). A frozen teacher learns from nobody; it takes
/// its learners' logits of each step only to stay in step with them (it would run ahead otherwise,
/// beyond what an exchange keeps for a receiver), and throws them away.
/// </summary>
public sealed class MultiTeacherStrategy : IDistillationStrategy
{
    public const string StrategyKey = "multi-teacher";
    public const string Uniform = "uniform";
    public const string Fixed = "fixed";
    public const string Entropy = "entropy";
    public const string Correctness = "correctness";
    public const string ValidationAccuracy = "validation-accuracy";

    private readonly MultiTeacherOptions _options;
    private readonly Func<CohortData, IReadOnlyDictionary<string, double>>? _measureAccuracies;
    private readonly Dictionary<string, IReadOnlyList<string>> _learnersOfFrozen;
    private readonly HashSet<string> _publishers;
    private readonly object _gate = new();
    private IReadOnlyDictionary<string, double>? _accuracies;

    /// <param name="options">The strategy's options.</param>
    /// <param name="measureAccuracies">For weighting validation-accuracy: each teacher's accuracy as measured at the start (called once per process, by <see cref="Prepare"/>).</param>
    public MultiTeacherStrategy(MultiTeacherOptions options, Func<CohortData, IReadOnlyDictionary<string, double>>? measureAccuracies = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.Weighting == TeacherWeighting.ValidationAccuracy && measureAccuracies is null)
        {
            throw new ArgumentException("weighting validation-accuracy needs a way to measure the teachers' accuracies", nameof(measureAccuracies));
        }

        _measureAccuracies = measureAccuracies;
        _learnersOfFrozen = options.Frozen.ToDictionary(
            f => f,
            f => (IReadOnlyList<string>)[.. options.Teachers.Where(s => !options.Frozen.Contains(s.Key) && s.Value.Contains(f, StringComparer.Ordinal)).Select(s => s.Key).Order(StringComparer.Ordinal)],
            StringComparer.Ordinal);
        _publishers = new HashSet<string>(Students.SelectMany(s => options.Teachers[s]).Concat(_learnersOfFrozen.Values.SelectMany(l => l)), StringComparer.Ordinal);
    }

    /// <summary>The values of <c>distillation.weighting</c>, in the order of <see cref="TeacherWeighting"/>.</summary>
    public static IReadOnlyList<string> Weightings { get; } = [Uniform, Fixed, Entropy, Correctness, ValidationAccuracy];

    public string Key => StrategyKey;

    /// <summary>The peers that learn: live peers with teachers.</summary>
    public IEnumerable<string> Students => _options.Teachers.Where(t => !_options.Frozen.Contains(t.Key) && t.Value.Count > 0).Select(t => t.Key);

    /// <summary>The teachers' accuracies measured at the start (weighting validation-accuracy, after <see cref="Prepare"/>); null otherwise.</summary>
    public IReadOnlyDictionary<string, double>? Accuracies
    {
        get
        {
            lock (_gate)
            {
                return _accuracies;
            }
        }
    }

    public static TeacherWeighting ParseWeighting(string key) => key switch
    {
        Uniform => TeacherWeighting.Uniform,
        Fixed => TeacherWeighting.Fixed,
        Entropy => TeacherWeighting.Entropy,
        Correctness => TeacherWeighting.Correctness,
        ValidationAccuracy => TeacherWeighting.ValidationAccuracy,
        _ => throw new ArgumentException($"distillation.weighting: unknown weighting '{key}' (known: {string.Join(", ", Weightings)})", nameof(key)),
    };

    public bool Publishes(string peer) => _publishers.Contains(peer);

    public IReadOnlyList<string> Configure(string peer, long step)
    {
        if (_learnersOfFrozen.TryGetValue(peer, out var learners))
        {
            return learners;
        }

        return _options.Teachers.TryGetValue(peer, out var teachers) ? teachers : Array.Empty<string>();
    }

    public void Prepare(CohortData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (_options.Weighting != TeacherWeighting.ValidationAccuracy)
        {
            return;
        }

        lock (_gate)
        {
            _accuracies ??= _measureAccuracies!(data);
        }
    }

    public TeacherPlan Aggregate(string peer, long step, IReadOnlyList<TeacherLogits> arrived) =>
        _options.Weighting is TeacherWeighting.Entropy or TeacherWeighting.Correctness
            ? throw new InvalidOperationException($"weighting {Weightings[(int)_options.Weighting]} needs the batch labels")
            : Plan(peer, step, arrived, labels: null);

    public TeacherPlan Aggregate(string peer, long step, IReadOnlyList<TeacherLogits> arrived, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return Plan(peer, step, arrived, labels);
    }

    private TeacherPlan Plan(string peer, long step, IReadOnlyList<TeacherLogits> arrived, Tensor? labels)
    {
        ArgumentNullException.ThrowIfNull(arrived);
        if (arrived.Count == 0 || _options.Frozen.Contains(peer))
        {
            return TeacherPlan.None(_options.LabelSmoothing);
        }

        var names = arrived.Select(t => t.Peer).ToList();
        double[] weights;
        Tensor? sampleWeights = null;
        switch (_options.Weighting)
        {
            case TeacherWeighting.Uniform:
                weights = TeacherWeights.Normalize([.. names.Select(_ => 1.0)]);
                break;
            case TeacherWeighting.Fixed:
                var given = names.Select(n => _options.Weights.TryGetValue(n, out var w) ? w : 1.0).ToArray();
                if (given.Sum() <= 0)
                {
                    // Only teachers of weight 0 are present: nothing to learn from at this step.
                    return TeacherPlan.None(_options.LabelSmoothing);
                }

                weights = TeacherWeights.Normalize(given);
                break;
            case TeacherWeighting.ValidationAccuracy:
                var accuracies = Accuracies ?? throw new InvalidOperationException("weighting validation-accuracy: the teachers' accuracies were not measured (Prepare was not called)");
                weights = TeacherWeights.Normalize([.. names.Select(n => accuracies[n])]);
                break;
            default:
                ArgumentNullException.ThrowIfNull(labels);
                (weights, sampleWeights) = PerSample(arrived, labels);
                break;
        }

        return new TeacherPlan(
            arrived.Select(t => t.Logits).ToList(),
            weights,
            _options.Temperature,
            AlphaAt(step),
            _options.Form,
            _options.Combination,
            _options.LabelSmoothing)
        {
            SampleWeights = sampleWeights,
            MeanWeights = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => weights[x.i], StringComparer.Ordinal),
        };
    }

    /// <summary>alpha, ramped linearly from 0 over the warm-up steps.</summary>
    public double AlphaAt(long step) => AlphaRamp.At(_options.Alpha, _options.AlphaWarmupSteps, step);

    /// <summary>The per-sample weights as a [batch, teachers] tensor, and their batch means.</summary>
    private (double[] Means, Tensor Weights) PerSample(IReadOnlyList<TeacherLogits> arrived, Tensor labels)
    {
        var y = labels.ToInt64Array();
        var logits = arrived.Select(t => t.Logits.ToFloatArray()).ToList();
        var batch = y.Length;
        var classes = (int)arrived[0].Logits.Shape[^1];
        var w = _options.Weighting == TeacherWeighting.Entropy
            ? TeacherWeights.Entropy(logits, batch, classes, _options.WeightingTemperature)
            : TeacherWeights.Correctness(logits, y, classes, _options.WeightingTemperature);
        var means = TeacherWeights.ColumnMeans(w, batch, arrived.Count);
        return (means, Tensor.FromArray([.. w.Select(v => (float)v)], batch, arrived.Count));
    }
}
