using System.Globalization;
using System.Security.Cryptography;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Coordinator.Internal;
using PeerDistill.Protocol.V1;

namespace PeerDistill.Coordinator;

/// <summary>
/// The coordinator's whole state, in memory: workers and their leases, cohort runs and the
/// placement of their peers. Every method is thread-safe (one lock) and is what the gRPC services
/// call; errors are <see cref="RpcException"/>s with a specific status code. Time comes from
/// <see cref="CoordinatorOptions.TimeProvider"/>, and <see cref="Tick"/> (called by
/// <see cref="CoordinatorHost"/> on a timer) expires leases and places waiting peers.
/// </summary>
/// <remarks>
/// Peer activations follow the design's rules: one live activation per peer, each with a
/// generation; a lost peer becomes RECOVERING with the next generation and is re-placed on
/// another worker from its newest checkpoint; reports about an older generation are refused
/// (the worker is told to stop that incarnation).
/// </remarks>
public sealed partial class CoordinatorState
{
    private static readonly HashSet<string> InterruptionKinds = new(StringComparer.Ordinal) { EventKinds.WorkerLost, EventKinds.Interrupted, EventKinds.Reactivated };

    private readonly object _gate = new();
    private readonly CoordinatorOptions _options;
    private readonly string _outputRoot;
    private readonly string _checkpointRoot;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, WorkerRecord> _workers = new(StringComparer.Ordinal);
    private readonly List<CohortRun> _runs = [];
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource _changed = NewSignal();
    private long _version;
    private long _sequence;
    private bool _dirty;

    /// <summary>Creates an empty state.</summary>
    public CoordinatorState(CoordinatorOptions? options = null, ILogger? logger = null)
    {
        _options = options ?? new CoordinatorOptions();
        if (_options.Lease <= TimeSpan.Zero)
        {
            throw new ArgumentException($"CoordinatorOptions.Lease must be positive, got {_options.Lease}", nameof(options));
        }

        if (_options.HeartbeatInterval <= TimeSpan.Zero || _options.HeartbeatInterval >= _options.Lease)
        {
            throw new ArgumentException($"CoordinatorOptions.HeartbeatInterval must be positive and below the lease ({_options.Lease}), got {_options.HeartbeatInterval}", nameof(options));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(_options.OutputRoot, nameof(options));
        _outputRoot = Path.GetFullPath(_options.OutputRoot);
        _checkpointRoot = Path.GetFullPath(_options.CheckpointRoot ?? _options.OutputRoot);
        _time = _options.TimeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The options the state runs with.</summary>
    public CoordinatorOptions Options => _options;

    /// <summary>Counts the changes of any run's status; watchers wait for it to move.</summary>
    public long Version => Interlocked.Read(ref _version);

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>
    /// Registers a worker (WorkerRegistry.Register): the proposed id, or <c>w-</c> and a random
    /// suffix when none is proposed; its lease runs from now. An id that is already registered
    /// means that worker restarted: every peer it hosted is lost (and recovers elsewhere or on it)
    /// and its slots are free again.
    /// </summary>
    public RegisterWorkerReply Register(RegisterWorkerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateRegistration(request);
        lock (_gate)
        {
            var now = Now;
            var id = request.WorkerId.Length > 0 ? request.WorkerId : NewWorkerId();
            if (_workers.Remove(id, out var previous))
            {
                Log.WorkerRestarted(_logger, id, request.Address);
                LosePeersOf(previous, now, $"worker '{id}' (was at {previous.Address}) registered again from {request.Address}: it restarted, the peers it hosted are lost");
            }
            else
            {
                Log.WorkerRegistered(_logger, id, request.Address, request.Slots.Count);
            }

            // A worker that registers is a fresh process: peers that avoided it may use it again.
            foreach (var run in _runs)
            {
                foreach (var peer in run.Peers)
                {
                    if (peer.AvoidWorkerId == id)
                    {
                        peer.AvoidWorkerId = null;
                    }
                }
            }

            var slots = request.Slots.Select(s => s.Clone()).OrderBy(s => s.Index).ToList();
            _workers[id] = new WorkerRecord(id, request.Address, slots, now, now + _options.Lease);
            PlaceWaitingPeers(now);
            _dirty = true;
            Commit();
            return new RegisterWorkerReply
            {
                WorkerId = id,
                LeaseMs = (long)_options.Lease.TotalMilliseconds,
                HeartbeatIntervalMs = (long)_options.HeartbeatInterval.TotalMilliseconds,
                OutputRoot = _outputRoot,
                CheckpointRoot = _checkpointRoot,
            };
        }
    }

    /// <summary>
    /// A worker's heartbeat (WorkerRegistry.Heartbeat): renews its lease, applies the progress it
    /// reports and answers with what it must start (assignments not yet acknowledged), stop (stale
    /// generations, cancelled runs, and any peer this coordinator does not know as placed on that
    /// worker: after a coordinator restart, its peers are orphans) and where the peers of its
    /// cohorts run. An unknown worker gets NotFound and must register again.
    /// </summary>
    public HeartbeatReply Heartbeat(HeartbeatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            if (!_workers.TryGetValue(request.WorkerId, out var worker))
            {
                Log.UnknownWorker(_logger, request.WorkerId);
                throw new RpcException(new Status(StatusCode.NotFound, $"Heartbeat: worker '{request.WorkerId}' is not registered (its lease expired?); register again"));
            }

            var now = Now;
            worker.LastHeartbeat = now;
            worker.LeaseExpiry = now + _options.Lease;
            var stop = new List<PeerRef>(worker.PendingStops);
            worker.PendingStops.Clear();
            foreach (var progress in request.Peers)
            {
                var outcome = Apply(progress, worker.Id, now);
                if (outcome.Stop)
                {
                    stop.Add(new PeerRef { Cohort = progress.Cohort, Run = progress.Run, Peer = progress.Peer, Generation = progress.Generation });
                }
            }

            PlaceWaitingPeers(now);
            var reply = new HeartbeatReply { LeaseMs = (long)_options.Lease.TotalMilliseconds };
            reply.Stop.AddRange(stop.DistinctBy(s => (s.Cohort, s.Run, s.Peer, s.Generation)));
            foreach (var run in _runs)
            {
                if (run.IsFinished || !run.Peers.Any(p => p.Placed && p.WorkerId == worker.Id))
                {
                    continue;
                }

                foreach (var peer in run.Peers)
                {
                    if (peer.HoldsSlot && peer.WorkerId == worker.Id && !peer.Acknowledged)
                    {
                        reply.Start.Add(CreateAssignment(run, peer));
                    }
                }

                reply.Peers.AddRange(Endpoints(run));
            }

            Commit();
            return reply;
        }
    }

    /// <summary>
    /// Expires the leases of silent workers (their peers recover elsewhere) and places waiting
    /// peers. <see cref="CoordinatorHost"/> calls it every <see cref="CoordinatorOptions.TickInterval"/>.
    /// </summary>
    public void Tick()
    {
        lock (_gate)
        {
            var now = Now;
            foreach (var worker in _workers.Values.Where(w => !w.IsAlive(now)).OrderBy(w => w.Id, StringComparer.Ordinal).ToList())
            {
                _workers.Remove(worker.Id);
                var silent = (now - worker.LastHeartbeat).TotalSeconds;
                Log.WorkerLost(_logger, worker.Id, worker.Address, silent, _options.Lease.TotalSeconds);
                LosePeersOf(
                    worker,
                    now,
                    string.Create(CultureInfo.InvariantCulture, $"worker '{worker.Id}' at {worker.Address} lost: no heartbeat for {silent:0.0} s (lease {_options.Lease.TotalSeconds:0.0} s)"));
                _dirty = true;
            }

            PlaceWaitingPeers(now);
            Commit();
        }
    }

    /// <summary>When the lease of <paramref name="workerId"/> runs out; null if it is not registered.</summary>
    internal DateTimeOffset? LeaseExpiry(string workerId)
    {
        lock (_gate)
        {
            return _workers.TryGetValue(workerId, out var worker) ? worker.LeaseExpiry : null;
        }
    }

    /// <summary>The registered workers' ids, in order.</summary>
    internal IReadOnlyList<string> WorkerIds()
    {
        lock (_gate)
        {
            return _workers.Keys.Order(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Ends every watch (the host is stopping).</summary>
    internal void Shutdown() => _stopping.Cancel();

    private static void ValidateRegistration(RegisterWorkerRequest request)
    {
        var problems = new List<string>();
        if (request.WorkerId.Length > 128 || request.WorkerId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            problems.Add($"worker_id '{request.WorkerId}' is not a valid id (at most 128 characters, no spaces or control characters)");
        }

        if (string.IsNullOrWhiteSpace(request.Address))
        {
            problems.Add("address is empty: give the host:port where the worker serves PeerExchange and WorkerControl");
        }

        if (request.Slots.Count == 0)
        {
            problems.Add("slots is empty: a worker must offer at least one slot");
        }

        for (var i = 0; i < request.Slots.Count; i++)
        {
            var slot = request.Slots[i];
            if (slot.Index < 0)
            {
                problems.Add($"slots[{i}].index is {slot.Index}: slot indexes are 0 or more");
            }
            else if (request.Slots.Take(i).Any(s => s.Index == slot.Index))
            {
                problems.Add($"slots[{i}].index {slot.Index} is used by an earlier slot: indexes are unique per worker");
            }

            if (slot.Threads < 0)
            {
                problems.Add($"slots[{i}].threads is {slot.Threads}: 0 (the worker decides) or more");
            }
        }

        if (problems.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Register: " + string.Join("; ", problems)));
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string NewWorkerId()
    {
        while (true)
        {
            var id = "w-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            if (!_workers.ContainsKey(id))
            {
                return id;
            }
        }
    }

    /// <summary>Wakes watchers when something changed since the last commit (call with the lock held).</summary>
    private void Commit()
    {
        if (!_dirty)
        {
            return;
        }

        _dirty = false;
        Interlocked.Increment(ref _version);
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

    /// <summary>What applying one progress report asks of the caller: whether the reporting worker must stop that peer.</summary>
    private readonly record struct ProgressOutcome(bool Stop)
    {
        public static readonly ProgressOutcome None = new(false);

        public static readonly ProgressOutcome StopIt = new(true);
    }
}
