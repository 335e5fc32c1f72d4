using PeerDistill.Core.Exchange;
using PeerDistill.Torch;

namespace PeerDistill.Core.Strategies;

/// <summary>
/// Deep mutual learning (Zhang et al. 2018): at every step each peer learns from the other peers'
/// logits on the same batch, with loss CE + alpha * T^2 * KL(teacher || peer). Who teaches whom is
/// configurable (all-to-all by default); teachers absent at a step (failed peers) are left out.
/// </summary>
public sealed class DmlStrategy : IDistillationStrategy
{
    public const string StrategyKey = "dml";

    private readonly DmlOptions _options;
    private readonly HashSet<string> _publishers;

    public DmlStrategy(DmlOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _publishers = new HashSet<string>(options.Teachers.Values.SelectMany(t => t), StringComparer.Ordinal);
    }

    public string Key => StrategyKey;

    public bool Publishes(string peer) => _publishers.Contains(peer);

    public IReadOnlyList<string> Configure(string peer, long step) =>
        _options.Teachers.TryGetValue(peer, out var teachers) ? teachers : Array.Empty<string>();

    public TeacherPlan Aggregate(string peer, long step, IReadOnlyList<TeacherLogits> arrived)
    {
        if (arrived.Count == 0)
        {
            return TeacherPlan.None(_options.LabelSmoothing);
        }

        var weights = arrived.Select(t => _options.Weights.TryGetValue(t.Peer, out var w) ? w : 1.0).ToArray();
        if (weights.Sum() <= 0)
        {
            return TeacherPlan.None(_options.LabelSmoothing);
        }

        return new TeacherPlan(
            arrived.Select(t => t.Logits).ToList(),
            weights,
            _options.Temperature,
            AlphaAt(step),
            _options.Form,
            _options.Combination,
            _options.LabelSmoothing);
    }

    /// <summary>alpha, ramped linearly from 0 over the warm-up steps.</summary>
    public double AlphaAt(long step) => AlphaRamp.At(_options.Alpha, _options.AlphaWarmupSteps, step);
}
