using System.Collections.Concurrent;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// A worker's record of the PeerExchange calls and streams it refused for their tickets: each
/// refusal is counted by reason; the service logs each refused stream once, and at most
/// <see cref="MaxLinesPerSecond"/> lines a second in all, so a flood of attempts cannot flood the log.
/// </summary>
public sealed class ExchangeRefusals(TimeProvider time)
{
    /// <summary>The most refusal lines logged in a second.</summary>
    public const int MaxLinesPerSecond = 10;

    private readonly ConcurrentDictionary<TicketRefusal, long> _counts = new();
    private readonly Lock _gate = new();
    private long _windowStart = long.MinValue;
    private int _linesInWindow;
    private long _unlogged;

    public ExchangeRefusals()
        : this(TimeProvider.System)
    {
    }

    /// <summary>Refusals of <paramref name="reason"/> so far.</summary>
    public long Count(TicketRefusal reason) => _counts.GetValueOrDefault(reason);

    /// <summary>Every refusal so far, by reason.</summary>
    public IReadOnlyDictionary<TicketRefusal, long> Snapshot() => new Dictionary<TicketRefusal, long>(_counts);

    /// <summary>
    /// Counts one refusal; whether it may be logged now (else it is only counted), and how many
    /// refusals went unlogged since the last line that was.
    /// </summary>
    public (bool Log, long Count, long Unlogged) Record(TicketRefusal reason)
    {
        var count = _counts.AddOrUpdate(reason, 1, (_, c) => c + 1);
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (_windowStart == long.MinValue || time.GetElapsedTime(_windowStart, now) >= TimeSpan.FromSeconds(1))
            {
                (_windowStart, _linesInWindow) = (now, 0);
            }

            if (_linesInWindow >= MaxLinesPerSecond)
            {
                _unlogged++;
                return (false, count, _unlogged);
            }

            _linesInWindow++;
            var unlogged = _unlogged;
            _unlogged = 0;
            return (true, count, unlogged);
        }
    }
}
