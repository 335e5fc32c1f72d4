namespace PeerDistill.Cluster.Exchange;

/// <summary>What a worker's links sent: frames, bytes on the wire (serialized frames), and the time from publishing a frame to its acknowledgement.</summary>
public sealed class ExchangeStatistics
{
    private readonly object _gate = new();
    private readonly List<double> _latencies = [];
    private long _frames;
    private long _bytes;
    private long _refused;

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

    /// <summary>Publish-to-acknowledgement times in milliseconds, in the order they were measured.</summary>
    public IReadOnlyList<double> LatenciesMs()
    {
        lock (_gate)
        {
            return _latencies.ToList();
        }
    }

    internal void Record(int bytes, TimeSpan latency, bool accepted)
    {
        lock (_gate)
        {
            _frames++;
            _bytes += bytes;
            if (!accepted)
            {
                _refused++;
            }

            if (_latencies.Count < 1_000_000)
            {
                _latencies.Add(latency.TotalMilliseconds);
            }
        }
    }
}
