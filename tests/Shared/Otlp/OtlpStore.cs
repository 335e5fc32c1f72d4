using System.Globalization;
using System.Text;

namespace PeerDistill.Tests.Shared.Otlp;

/// <summary>
/// What an <see cref="OtlpReceiver"/> has received: spans and metrics in arrival order, the requests
/// it refused, and a signal that wakes waiters at every change (waiting never sleeps a guessed time).
/// </summary>
internal sealed class OtlpStore
{
    private readonly object _gate = new();
    private readonly List<ReceivedSpan> _spans = [];
    private readonly List<ReceivedMetric> _metrics = [];
    private readonly List<string> _rejections = [];
    private readonly Dictionary<string, int> _requests = new(StringComparer.Ordinal);
    private readonly Action<string> _log;
    private TaskCompletionSource _changed = NewSignal();

    public OtlpStore(Action<string> log) => _log = log;

    /// <summary>The spans received so far.</summary>
    public IReadOnlyList<ReceivedSpan> Spans
    {
        get
        {
            lock (_gate)
            {
                return [.. _spans];
            }
        }
    }

    /// <summary>The metrics received so far.</summary>
    public IReadOnlyList<ReceivedMetric> Metrics
    {
        get
        {
            lock (_gate)
            {
                return [.. _metrics];
            }
        }
    }

    /// <summary>The requests refused so far, each with why.</summary>
    public IReadOnlyList<string> Rejections
    {
        get
        {
            lock (_gate)
            {
                return [.. _rejections];
            }
        }
    }

    /// <summary>Keeps the spans of one export request.</summary>
    public void Add(IReadOnlyList<ReceivedSpan> spans, OtlpProtocol protocol)
    {
        bool first;
        lock (_gate)
        {
            _spans.AddRange(spans);
            first = Count($"{protocol} traces");
        }

        if (first)
        {
            _log($"OTLP receiver: first trace export over {protocol}: {spans.Count} spans from {Services(spans.Select(s => s.ServiceName))}");
        }

        Signal();
    }

    /// <summary>Keeps the metrics of one export request.</summary>
    public void Add(IReadOnlyList<ReceivedMetric> metrics, OtlpProtocol protocol)
    {
        bool first;
        lock (_gate)
        {
            _metrics.AddRange(metrics);
            first = Count($"{protocol} metrics");
        }

        if (first)
        {
            _log($"OTLP receiver: first metrics export over {protocol}: {metrics.Count} metrics from {Services(metrics.Select(m => m.ServiceName))}");
        }

        Signal();
    }

    /// <summary>Records a refused request.</summary>
    public void Reject(string why)
    {
        lock (_gate)
        {
            _rejections.Add(why);
        }

        _log($"OTLP receiver: refused a request: {why}");
        Signal();
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds for what <paramref name="read"/> takes from the
    /// store, checking it now and after every change; returns what it held for.
    /// </summary>
    public async Task<T> WaitAsync<T>(Func<T> read, Func<T, bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }

            // Read after taking the signal: a change between the two wakes the wait below at once.
            var value = read();
            if (condition(value))
            {
                return value;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"The OTLP receiver did not receive {what} within {timeout.TotalSeconds:0.###} s. {Describe()}");
            }

            try
            {
                await changed.WaitAsync(left, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Checked once more at the top, then reported with what did arrive.
            }
        }
    }

    /// <summary>A summary of what arrived (for failure messages): requests per transport and signal, spans and metrics per service, refusals.</summary>
    public string Describe()
    {
        lock (_gate)
        {
            var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"Received {_spans.Count} spans and {_metrics.Count} metrics");
            text.Append(_requests.Count == 0
                ? " (no export request at all: is OTEL_EXPORTER_OTLP_ENDPOINT/PROTOCOL set in the sender, and has it flushed?)"
                : $" in {string.Join(", ", _requests.Select(r => $"{r.Value} {r.Key} requests"))}");
            foreach (var service in _spans.GroupBy(s => s.ServiceName ?? "(no service.name)"))
            {
                text.Append(CultureInfo.InvariantCulture, $"; spans of {service.Key}: {string.Join(", ", service.GroupBy(s => s.Name).Select(n => $"{n.Key} x{n.Count()}").Take(40))}");
            }

            foreach (var service in _metrics.GroupBy(m => m.ServiceName ?? "(no service.name)"))
            {
                text.Append(CultureInfo.InvariantCulture, $"; metrics of {service.Key}: {string.Join(", ", service.Select(m => m.Name).Distinct().Take(60))}");
            }

            if (_rejections.Count > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"; {_rejections.Count} requests refused, the last: {_rejections[^1]}");
            }

            return text.Append('.').ToString();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static string Services(IEnumerable<string?> names) => string.Join(", ", names.Distinct().Select(n => n ?? "(no service.name)"));

    /// <summary>Counts one request; true for the first of its kind (called under the gate).</summary>
    private bool Count(string kind)
    {
        _requests[kind] = _requests.GetValueOrDefault(kind) + 1;
        return _requests[kind] == 1;
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }
}
