using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using PeerDistill.Core.Telemetry;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// What the links of one cohort run sent, read from the exchange's instruments (<see cref="ExchangeTelemetry"/>)
/// by a listener of this process while it is not disposed: frames, bytes, refusals and each frame's
/// publish-to-ack time, per link in the order measured. For benches and tests; exporters read the
/// same instruments.
/// </summary>
public sealed class ExchangeMeasurements : IDisposable
{
    private readonly object _gate = new();
    private readonly string? _cohort;
    private readonly string? _run;
    private readonly MeterListener _listener = new();
    private readonly Dictionary<(string Sender, string Receiver), List<double>> _latencies = new();
    private long _frames;
    private long _bytes;
    private long _refused;

    /// <param name="cohort">Only this cohort's links (null: every cohort's).</param>
    /// <param name="run">Only this run's links (null: every run's).</param>
    public ExchangeMeasurements(string? cohort = null, string? run = null)
    {
        _cohort = cohort;
        _run = run;
        // The instruments exist before the listener starts: were they made later, while a listener is on,
        // InstrumentPublished would run inside ExchangeTelemetry's type initializer, see its fields still
        // null, and never enable them (the first ExchangeMeasurements of a process would count nothing).
        RuntimeHelpers.RunClassConstructor(typeof(ExchangeTelemetry).TypeHandle);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument, ExchangeTelemetry.FramesSent) || ReferenceEquals(instrument, ExchangeTelemetry.BytesSent) || ReferenceEquals(instrument, ExchangeTelemetry.AckLatency))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnLong);
        _listener.SetMeasurementEventCallback<double>(OnDouble);
        _listener.Start();
    }

    /// <summary>Frames sent and answered.</summary>
    public long Frames
    {
        get
        {
            lock (_gate)
            {
                return _frames;
            }
        }
    }

    /// <summary>Bytes put on the network.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Frames the receiver refused.</summary>
    public long Refused
    {
        get
        {
            lock (_gate)
            {
                return _refused;
            }
        }
    }

    /// <summary>Publish-to-acknowledgement times in milliseconds, per link in the order measured.</summary>
    public IReadOnlyList<IReadOnlyList<double>> LatenciesMsByLink()
    {
        lock (_gate)
        {
            return _latencies.Values.Select(l => (IReadOnlyList<double>)l.ToList()).ToList();
        }
    }

    /// <summary>Stops listening; what was measured stays readable.</summary>
    public void Dispose() => _listener.Dispose();

    private bool Selected(ReadOnlySpan<KeyValuePair<string, object?>> tags, out string sender, out string receiver, out int code)
    {
        sender = receiver = string.Empty;
        code = 0;
        string? cohort = null, run = null;
        foreach (var (key, value) in tags)
        {
            switch (key)
            {
                case TelemetryAttributes.Cohort: cohort = value as string; break;
                case TelemetryAttributes.Run: run = value as string; break;
                case TelemetryAttributes.Peer: sender = value as string ?? string.Empty; break;
                case TelemetryAttributes.Receiver: receiver = value as string ?? string.Empty; break;
                case TelemetryAttributes.StatusCode: code = value is int c ? c : 0; break;
            }
        }

        return (_cohort is null || _cohort == cohort) && (_run is null || _run == run);
    }

    private void OnLong(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (!Selected(tags, out _, out _, out var code))
        {
            return;
        }

        lock (_gate)
        {
            if (ReferenceEquals(instrument, ExchangeTelemetry.FramesSent))
            {
                _frames += value;
                _refused += code == 0 ? 0 : value;
            }
            else
            {
                _bytes += value;
            }
        }
    }

    private void OnDouble(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (!Selected(tags, out var sender, out var receiver, out _))
        {
            return;
        }

        lock (_gate)
        {
            if (!_latencies.TryGetValue((sender, receiver), out var list))
            {
                _latencies[(sender, receiver)] = list = [];
            }

            if (list.Count < 1_000_000)
            {
                list.Add(value * 1000);
            }
        }
    }
}
