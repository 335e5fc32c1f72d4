using System.Collections.Concurrent;
using PeerDistill.Torch;

namespace PeerDistill.Core.Spec.Internal;

/// <summary>
/// Validates a zoo model and its options the only way that cannot drift from the engine: by
/// building it once on the CPU with the native zoo. Outcomes are cached per (model, classes, options),
/// at most <see cref="MaxCached"/> of them (a process that checks many distinct options starts over).
/// </summary>
internal static class ZooModelCheck
{
    /// <summary>Spec inputs are 1x28x28 for every data set.</summary>
    public static readonly InputShape Input = new(1, 28, 28);

    private const int MaxCached = 1024;

    private static readonly ConcurrentDictionary<string, string> Outcomes = new(StringComparer.Ordinal);

    public static bool IsZooName(string model) => Model.ZooNames.Contains(model, StringComparer.Ordinal);

    /// <summary>The engine's message when the model cannot be built; null when it can.</summary>
    public static string? Check(string model, IReadOnlyDictionary<string, string> options, int classes)
    {
        var key = string.Join('\u001f', [model, classes.ToString(System.Globalization.CultureInfo.InvariantCulture), .. options.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}={o.Value}")]);
        if (Outcomes.Count >= MaxCached && !Outcomes.ContainsKey(key))
        {
            Outcomes.Clear();
        }

        var outcome = Outcomes.GetOrAdd(key, _ => Build(model, options, classes));
        return outcome.Length == 0 ? null : outcome;
    }

    private static string Build(string model, IReadOnlyDictionary<string, string> options, int classes)
    {
        try
        {
            using var built = Model.Create(model, Input, classes, seed: 0, device: "cpu", options);
            return string.Empty;
        }
        catch (TorchException e)
        {
            return e.Message;
        }
    }
}
