namespace PeerDistill.Core.Runner;

/// <summary>
/// Stops a cohort cleanly on request (Ctrl-C, SIGTERM). Coupled peers (those exchanging logits) stop
/// together at one step boundary: the step after the furthest any peer has started, so that every
/// peer's checkpoint holds the same number of steps and a resume continues in lockstep. Uncoupled
/// peers stop at their own next step.
/// </summary>
public sealed class StopControl
{
    private readonly object _gate = new();
    private readonly Dictionary<string, long> _started = new(StringComparer.Ordinal);
    private bool _coupled;
    private long? _stopAt;
    private bool _requested;
    private long? _holdAt;
    private Action<long>? _onHold;

    public StopControl(bool coupled = true)
    {
        _coupled = coupled;
    }

    /// <summary>Starts a new run of peers; <paramref name="coupled"/> when they exchange logits.</summary>
    public void BeginRun(bool coupled)
    {
        lock (_gate)
        {
            _coupled = coupled;
            _started.Clear();
        }
    }

    /// <summary>The step the coupled peers stop at, once a stop was asked for and that step is known; null otherwise.</summary>
    public long? StopStep
    {
        get
        {
            lock (_gate)
            {
                return _requested ? _stopAt : null;
            }
        }
    }

    /// <summary>Whether a peer that stops on request writes a checkpoint of its completed steps (default true).</summary>
    public bool CheckpointOnStop { get; private set; } = true;

    /// <summary>
    /// Asks every peer to stop at the next common step boundary; with <paramref name="checkpoint"/>
    /// false they stop without writing one.
    /// </summary>
    public void RequestStop(bool checkpoint = true)
    {
        lock (_gate)
        {
            if (_requested)
            {
                return;
            }

            _requested = true;
            CheckpointOnStop = checkpoint;
            _stopAt = _coupled && _started.Count > 0 ? _started.Values.Max() + 1 : null;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Makes every peer wait before <paramref name="step"/> until a stop is asked for (which then
    /// stops them there, with a checkpoint of exactly that many steps): a run held at a step of the
    /// caller's choice, to interrupt it at a known moment. <paramref name="onHeld"/> is called once,
    /// when the first peer arrives there.
    /// </summary>
    public void HoldAt(long step, Action<long> onHeld)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        lock (_gate)
        {
            (_holdAt, _onHold) = (step, onHeld);
        }
    }

    /// <summary>Stops at exactly <paramref name="step"/> (tests and bounded runs).</summary>
    public void StopAt(long step)
    {
        lock (_gate)
        {
            _requested = true;
            _stopAt = step;
        }
    }

    /// <summary>Called before a peer starts <paramref name="step"/>; false when it must stop instead.</summary>
    public bool TryBeginStep(string peer, long step)
    {
        lock (_gate)
        {
            if (!_requested && step == _holdAt)
            {
                var onHeld = _onHold;
                _onHold = null;
                onHeld?.Invoke(step);
                while (!_requested)
                {
                    Monitor.Wait(_gate);
                }
            }

            if (_requested && (_stopAt is null ? true : step >= _stopAt.Value))
            {
                return false;
            }

            _started[peer] = step;
            return true;
        }
    }

    /// <summary>A peer that left (finished or failed) no longer holds the others back.</summary>
    public void Leave(string peer)
    {
        lock (_gate)
        {
            _started.Remove(peer);
        }
    }
}
