namespace PeerDistill.Cluster.Exchange;

/// <summary>Where a peer of the cohort lives now: its worker's address, its activation generation, and its state.</summary>
/// <param name="Peer">Peer name.</param>
/// <param name="Address">The gRPC address of the worker hosting it (where its PeerExchange is served).</param>
/// <param name="Generation">Its current activation generation (starts at 1; each re-activation adds one).</param>
/// <param name="State">Whether it trains now, is missing (lost, being re-activated), or is done for good.</param>
/// <param name="Step">
/// Steps its current generation has completed, as last reported (a re-activated generation starts at
/// the step of the checkpoint it resumes): it sends no logits for earlier steps.
/// </param>
/// <param name="WorkerId">The worker hosting it (for messages); empty when unknown.</param>
/// <param name="WaitingAt">
/// The step at which it was last reported blocked, waiting for its own teachers' logits (it has
/// published its logits of that step by then); null when it was not waiting.
/// </param>
public sealed record PeerLocation(string Peer, string Address, ulong Generation, PeerPresence State, long Step = 0, string WorkerId = "", long? WaitingAt = null);

/// <summary>How present a peer is, as the exchange sees it.</summary>
public enum PeerPresence
{
    /// <summary>Training: its logits are expected every step.</summary>
    Active,

    /// <summary>Lost or being re-activated: the others go on without it (down to the quorum) until it is back.</summary>
    Missing,

    /// <summary>Finished or failed for good: nobody waits for it and it does not count against the quorum.</summary>
    Done,
}

/// <summary>
/// What a worker knows of the cohort's peers, updated by the coordinator (or, in tests, by hand).
/// Waiters are woken on every change, so a peer blocked on a teacher's logits notices when that
/// teacher is lost.
/// </summary>
public sealed class CohortDirectory
{
    private readonly object _gate = new();
    private readonly Dictionary<string, PeerLocation> _peers = new(StringComparer.Ordinal);
    private long _version;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Raised after every change, outside the lock.</summary>
    public event Action<CohortDirectory>? Changed;

    /// <summary>Increases with every change.</summary>
    public long Version
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    /// <summary>Replaces what is known of the peers in <paramref name="locations"/> (others are kept).</summary>
    public void Update(IEnumerable<PeerLocation> locations)
    {
        var list = locations.ToList();
        TaskCompletionSource changed;
        lock (_gate)
        {
            foreach (var l in list)
            {
                _peers[l.Peer] = l;
            }

            _version++;
            Monitor.PulseAll(_gate);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
        Changed?.Invoke(this);
    }

    /// <summary>The location of <paramref name="peer"/>, if known.</summary>
    public PeerLocation? Find(string peer)
    {
        lock (_gate)
        {
            return _peers.GetValueOrDefault(peer);
        }
    }

    /// <summary>Every known peer.</summary>
    public IReadOnlyList<PeerLocation> Snapshot()
    {
        lock (_gate)
        {
            return _peers.Values.ToList();
        }
    }

    /// <summary>Completes at the next change, or after <paramref name="timeout"/>, without holding a thread.</summary>
    public Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellation)
    {
        Task changed;
        lock (_gate)
        {
            changed = _changed.Task;
        }

        return Task.WhenAny(changed, Task.Delay(timeout, cancellation));
    }

    /// <summary>Waits until the version passes <paramref name="seen"/> or <paramref name="timeout"/> elapses (blocks the calling thread).</summary>
    public void WaitForChange(long seen, TimeSpan timeout)
    {
        lock (_gate)
        {
            if (_version == seen && timeout > TimeSpan.Zero)
            {
                Monitor.Wait(_gate, timeout);
            }
        }
    }
}
