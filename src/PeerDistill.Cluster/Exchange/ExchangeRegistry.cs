namespace PeerDistill.Cluster.Exchange;

/// <summary>The exchange hubs of the cohort runs a worker hosts peers of, by cohort and run.</summary>
public sealed class ExchangeRegistry : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Cohort, string Run), ExchangeHub> _hubs = new();
    private readonly CancellationTokenSource _closing = new();

    /// <summary>Cancelled when the worker stops: the Exchange streams other workers hold open to it end then, so that its server need not wait for them.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>The cluster's ticket key as this worker holds it: every Exchange stream served here is checked with it.</summary>
    public TicketKeyring Tickets { get; } = new();

    /// <summary>
    /// For the distributed bench's baseline only (set from <see cref="Hosting.WorkerOptions.ExchangeTicketsOff"/>,
    /// itself never bound from configuration): the streams served here need no ticket, and the links of the
    /// runs hosted here send none. Default false.
    /// </summary>
    internal bool TicketsOff { get; init; }

    /// <summary>The streams and calls refused here for their tickets, by reason.</summary>
    public ExchangeRefusals Refusals { get; } = new();

    /// <summary>Ends every Exchange stream served here (the worker stops; its peers have stopped already).</summary>
    public void Close() => _closing.Cancel();

    public void Dispose() => _closing.Dispose();

    public void Add(ExchangeHub hub)
    {
        lock (_gate)
        {
            _hubs[(hub.Settings.Cohort, hub.Settings.Run)] = hub;
        }
    }

    public void Remove(ExchangeHub hub)
    {
        lock (_gate)
        {
            if (_hubs.TryGetValue((hub.Settings.Cohort, hub.Settings.Run), out var current) && ReferenceEquals(current, hub))
            {
                _hubs.Remove((hub.Settings.Cohort, hub.Settings.Run));
            }
        }
    }

    public ExchangeHub? Find(string cohort, string run)
    {
        lock (_gate)
        {
            return _hubs.GetValueOrDefault((cohort, run));
        }
    }

    public IReadOnlyList<ExchangeHub> All()
    {
        lock (_gate)
        {
            return _hubs.Values.ToList();
        }
    }
}
