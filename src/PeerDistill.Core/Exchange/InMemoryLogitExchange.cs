using PeerDistill.Torch;

namespace PeerDistill.Core.Exchange;

/// <summary>
/// The exchange of the embedded runner: peers in one process hand each other detached views of
/// their logits (no copy). Synchronous: a gather for step s waits until every requested peer has
/// published step s or withdrawn.
/// </summary>
public sealed class InMemoryLogitExchange : ILogitExchange, IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Peer, long Step), Tensor> _published = new();
    private readonly Dictionary<string, long> _withdrawnAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastGathered = new(StringComparer.Ordinal);
    private readonly HashSet<string> _consumers;

    /// <param name="consumers">Peers that gather; a published step is freed once all of them are past it.</param>
    public InMemoryLogitExchange(IEnumerable<string> consumers)
    {
        _consumers = new HashSet<string>(consumers, StringComparer.Ordinal);
    }

    public void Publish(string peer, long step, Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        lock (_gate)
        {
            if (_published.Remove((peer, step), out var old))
            {
                old.Dispose();
            }

            _published[(peer, step)] = logits;
            Monitor.PulseAll(_gate);
        }
    }

    public void Withdraw(string peer, long step, string reason)
    {
        lock (_gate)
        {
            if (!_withdrawnAt.TryGetValue(peer, out var at) || step < at)
            {
                _withdrawnAt[peer] = step;
            }

            _consumers.Remove(peer);
            Collect();
            Monitor.PulseAll(_gate);
        }
    }

    public IReadOnlyList<TeacherLogits> Gather(string peer, long step, IReadOnlyList<string> from, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(from);
        using var wake = cancellation.Register(() =>
        {
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        });
        lock (_gate)
        {
            while (!from.All(p => _published.ContainsKey((p, step)) || (_withdrawnAt.TryGetValue(p, out var at) && at <= step)))
            {
                cancellation.ThrowIfCancellationRequested();
                Monitor.Wait(_gate);
            }

            var result = new List<TeacherLogits>(from.Count);
            foreach (var p in from)
            {
                if (_published.TryGetValue((p, step), out var logits))
                {
                    result.Add(new TeacherLogits(p, step, logits.Detach()));
                }
            }

            _lastGathered[peer] = step;
            Collect();
            return result;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var t in _published.Values)
            {
                t.Dispose();
            }

            _published.Clear();
        }
    }

    // Frees every published step that all remaining consumers have gathered.
    private void Collect()
    {
        if (_consumers.Count == 0)
        {
            return;
        }

        var done = _consumers.Min(c => _lastGathered.TryGetValue(c, out var s) ? s : -1);
        foreach (var key in _published.Keys.Where(k => k.Step <= done).ToList())
        {
            _published[key].Dispose();
            _published.Remove(key);
        }
    }
}
