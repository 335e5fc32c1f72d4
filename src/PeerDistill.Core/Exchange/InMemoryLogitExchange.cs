using PeerDistill.Torch;

namespace PeerDistill.Core.Exchange;

/// <summary>
/// The exchange of the embedded runner: peers in one process hand each other detached views of
/// their logits (no copy), under the same <see cref="ExchangePolicy"/> as the gRPC exchange:
/// synchronous (a gather for step s waits for every teacher that has not withdrawn, at most the
/// step timeout, never stepping with fewer than the quorum) or bounded staleness (never waits;
/// each teacher's freshest logits at most k steps old). A lossy wire form (fp16, top-k) is applied
/// on publishing, with the very code the gRPC codec uses (<see cref="LogitWireFormat.Apply"/>), so
/// that embedded and distributed runs of a spec give the same numbers.
/// </summary>
public sealed class InMemoryLogitExchange : ILogitExchange, IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Peer, long Step), Tensor> _published = new();
    // The publish span's context of each traced step's logits (Activity.Current when they were published).
    private readonly Dictionary<(string Peer, long Step), System.Diagnostics.ActivityContext> _origins = new();
    private readonly Dictionary<string, long> _withdrawnAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastGathered = new(StringComparer.Ordinal);
    private readonly HashSet<string> _consumers;
    private readonly ExchangePolicy _policy;
    private readonly LogitWireFormat _wire;

    /// <param name="consumers">Peers that gather; a published step is freed once all of them are past it (and past the staleness bound).</param>
    /// <param name="policy">The spec's exchange policy; null: synchronous, waiting as long as it takes.</param>
    /// <param name="wire">The spec's wire form; null: exact fp32.</param>
    public InMemoryLogitExchange(IEnumerable<string> consumers, ExchangePolicy? policy = null, LogitWireFormat? wire = null)
    {
        _consumers = new HashSet<string>(consumers, StringComparer.Ordinal);
        _policy = policy ?? new ExchangePolicy(Timeout.InfiniteTimeSpan, 1, 0);
        _wire = wire ?? LogitWireFormat.Fp32;
    }

    public void Publish(string peer, long step, Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (!_wire.IsExact)
        {
            // What every receiver gets, computed once, on the publisher's thread (as the gRPC sender does).
            var sent = logits;
            using (sent)
            {
                var shape = sent.Shape;
                logits = Tensor.FromSpan(_wire.Apply(sent.ToFloatArray(), (int)shape[^1]), shape);
            }
        }

        lock (_gate)
        {
            if (_published.Remove((peer, step), out var old))
            {
                old.Dispose();
            }

            _origins.Remove((peer, step));

            _published[(peer, step)] = logits;
            if (System.Diagnostics.Activity.Current is { Recorded: true } publishing)
            {
                _origins[(peer, step)] = publishing.Context;
            }

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
            if (!_policy.IsSynchronous)
            {
                return Freshest(peer, step, from);
            }

            var deadline = _policy.StepTimeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + _policy.StepTimeout;
            var availability = new TeacherAvailability[from.Count];
            while (true)
            {
                cancellation.ThrowIfCancellationRequested();
                for (var i = 0; i < from.Count; i++)
                {
                    var p = from[i];
                    availability[i] = _published.ContainsKey((p, step)) ? TeacherAvailability.Present
                        : _withdrawnAt.TryGetValue(p, out var at) && at <= step ? TeacherAvailability.Gone
                        : TeacherAvailability.Awaited;
                }

                var now = DateTime.UtcNow;
                if (_policy.MayStep(availability, now >= deadline))
                {
                    break;
                }

                Monitor.Wait(_gate, ExchangePolicy.NextCheck(deadline, now));
            }

            var result = new List<TeacherLogits>(from.Count);
            foreach (var p in from)
            {
                if (_published.TryGetValue((p, step), out var logits))
                {
                    result.Add(new TeacherLogits(p, step, logits.Detach()) { Origin = _origins.GetValueOrDefault((p, step)) });
                }
            }

            _lastGathered[peer] = step;
            Collect();
            return result;
        }
    }

    /// <summary>Bounded staleness: each teacher's logits of the latest published step in [step - k, step], without waiting.</summary>
    private List<TeacherLogits> Freshest(string peer, long step, IReadOnlyList<string> from)
    {
        var result = new List<TeacherLogits>(from.Count);
        foreach (var p in from)
        {
            for (var s = step; s >= _policy.OldestUsable(step); s--)
            {
                if (_published.TryGetValue((p, s), out var logits))
                {
                    result.Add(new TeacherLogits(p, s, logits.Detach()) { Origin = _origins.GetValueOrDefault((p, s)) });
                    break;
                }
            }
        }

        _lastGathered[peer] = step;
        Collect();
        return result;
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
            _origins.Clear();
        }
    }

    // Frees every published step that all remaining consumers are past (by more than the staleness bound).
    private void Collect()
    {
        if (_consumers.Count == 0)
        {
            return;
        }

        // A step stays while a consumer may still use it: not yet gathered, or within the staleness bound.
        var done = _consumers.Min(c => _lastGathered.TryGetValue(c, out var s) ? s : -1) - _policy.MaxStaleness;
        foreach (var key in _published.Keys.Where(k => k.Step <= done).ToList())
        {
            _published[key].Dispose();
            _published.Remove(key);
            _origins.Remove(key);
        }
    }
}
