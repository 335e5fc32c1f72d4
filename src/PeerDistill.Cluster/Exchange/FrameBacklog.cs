using Grpc.Core;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Cluster.Exchange;

/// <summary>
/// The frames of one link that its receiver refused for now (too far ahead of it while it catches
/// up, ahead of what the coordinator has told it of the sender, of a generation whose news has not
/// reached it, or for a peer it does not host yet), in step order. A receiver takes a sender's
/// frames in step order only (a frame at or below the last one taken is refused as a duplicate), so
/// while the backlog holds a frame no later frame goes out: new frames join the backlog, and its
/// first frame is sent again every <see cref="RecheckInterval"/> until it is taken (then the next
/// one goes at once) or has become useless (the receiver moved past it). Bounded: when full, the
/// newest frame goes, so that a receiver far behind (a slow peer under bounded staleness, a peer
/// catching up) gets the frames of its next steps without a gap; it treats this sender as ahead of it
/// for the steps it never gets. Thread-safe.
/// </summary>
internal sealed class FrameBacklog(int capacity, TimeProvider time)
{
    /// <summary>A backlog on the system's clock (timestamps of <see cref="System.Diagnostics.Stopwatch"/>).</summary>
    public FrameBacklog(int capacity)
        : this(capacity, TimeProvider.System)
    {
    }

    /// <summary>How long after a refusal its frame is sent again.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromMilliseconds(250);

    private readonly object _gate = new();
    private readonly SortedDictionary<long, LogitsFrame> _frames = [];
    private LogitsFrame? _inFlight;
    private long _dueTimestamp;

    /// <summary>Whether frames are held back (a new frame must then join the backlog rather than go out).</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _frames.Count == 0;
            }
        }
    }

    /// <summary>How many frames are held.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _frames.Count;
            }
        }
    }

    /// <summary>How long until the first frame is due to be sent again (zero: now); null when nothing is held or the first is in flight.</summary>
    public TimeSpan? DueIn(long nowTimestamp)
    {
        lock (_gate)
        {
            if (_frames.Count == 0 || _inFlight is not null)
            {
                return null;
            }

            return nowTimestamp >= _dueTimestamp ? TimeSpan.Zero : TimeSpan.FromSeconds((double)(_dueTimestamp - nowTimestamp) / time.TimestampFrequency);
        }
    }

    /// <summary>The first frame, when it is due to be sent again (it counts as in flight until its verdict); null otherwise.</summary>
    public LogitsFrame? TakeDue(long nowTimestamp)
    {
        lock (_gate)
        {
            if (_frames.Count == 0 || _inFlight is not null || nowTimestamp < _dueTimestamp)
            {
                return null;
            }

            _inFlight = _frames.First().Value;
            return _inFlight;
        }
    }

    /// <summary>Holds a frame behind the ones held already (a new frame while the backlog is not empty).</summary>
    public void Hold(LogitsFrame frame)
    {
        lock (_gate)
        {
            Add(frame);
        }
    }

    /// <summary>The frame in flight will get no verdict (its stream ended): it is due again at once.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _inFlight = null;
            _dueTimestamp = 0;
        }
    }

    /// <summary>Forgets every frame (the receiver moved to a new generation or address: it needs none of them).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _frames.Clear();
            _inFlight = null;
            _dueTimestamp = 0;
        }
    }

    /// <summary>
    /// The receiver's verdict on <paramref name="frame"/> (sent from the backlog or not): taken, or
    /// past it, drops it and every earlier frame, and the next one is due at once; refused for now
    /// holds it (due again after <see cref="RecheckInterval"/>); any other refusal drops it for good.
    /// Returns whether the frame was refused for now.
    /// </summary>
    public bool Note(LogitsFrame frame, bool accepted, StatusCode code, long highest, bool behind, long nowTimestamp)
    {
        var forNow = !accepted && !behind && ((code == StatusCode.OutOfRange && frame.Step > highest) || code is StatusCode.Unavailable or StatusCode.NotFound);
        lock (_gate)
        {
            var wasInFlight = ReferenceEquals(_inFlight, frame);
            if (wasInFlight)
            {
                _inFlight = null;
            }

            if (forNow)
            {
                Add(frame);
                if (wasInFlight || ReferenceEquals(_frames.First().Value, frame))
                {
                    _dueTimestamp = nowTimestamp + (long)(RecheckInterval.TotalSeconds * time.TimestampFrequency);
                }

                return true;
            }

            if (accepted || behind || code == StatusCode.AlreadyExists)
            {
                foreach (var step in _frames.Keys.TakeWhile(s => s <= frame.Step).ToList())
                {
                    _frames.Remove(step);
                }

                _dueTimestamp = 0;
            }
            else if (_frames.TryGetValue(frame.Step, out var held) && ReferenceEquals(held, frame))
            {
                _frames.Remove(frame.Step);
                _dueTimestamp = 0;
            }

            return false;
        }
    }

    private void Add(LogitsFrame frame)
    {
        _frames[frame.Step] = frame;
        while (_frames.Count > capacity)
        {
            var newest = _frames.Last();
            _frames.Remove(newest.Key);
            if (ReferenceEquals(_inFlight, newest.Value))
            {
                _inFlight = null;
            }
        }
    }
}
