using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerDistill.Core.Storage;
using PeerDistill.Protocol;
using PeerDistill.Protocol.V1;
using PeerDistill.Torch;
using PeerDistill.Worker.Exchange;

namespace PeerDistill.Worker.Hosting;

/// <summary>
/// A worker process: serves PeerExchange and WorkerControl (and gRPC health and reflection),
/// registers with the coordinator, keeps its lease by heartbeat (reporting every hosted peer's progress), and starts and stops peers as
/// the coordinator's replies say. An assignment is checked before anything runs: this worker's
/// slot, free; directories under the roots the coordinator gave at registration; a valid spec that
/// names the cohort and peer. A coordinator that no longer knows this worker (NotFound: it
/// restarted, or this worker's lease ran out and its peers went elsewhere) leaves its peers
/// orphaned: they are stopped with a checkpoint, their slots freed, and the worker registers again.
/// </summary>
public sealed partial class WorkerHost : IAsyncDisposable
{
    /// <summary>How long a stop may take before Deactivate or a re-registration gives up waiting (a step, an evaluation, a checkpoint).</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    private readonly WorkerOptions _options;
    private readonly ILogger _logger;
    private readonly GrpcServiceHost _server;
    private readonly ExchangeRegistry _registry;
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Cohort, string Run), HostedRun> _runs = new();
    private readonly GrpcChannel _coordinatorChannel;
    private readonly WorkerRegistry.WorkerRegistryClient _coordinator;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startGate = new();
    private Task? _loop;
    private TimeSpan _heartbeatInterval = TimeSpan.FromSeconds(1);
    private volatile Roots? _roots;

    private WorkerHost(WorkerOptions options, ILogger logger, GrpcServiceHost server, ExchangeRegistry registry, string address)
    {
        _options = options;
        _logger = logger;
        _server = server;
        _registry = registry;
        Address = address;
        _coordinatorChannel = GrpcChannels.ForAddress(options.Coordinator);
        _coordinator = new WorkerRegistry.WorkerRegistryClient(_coordinatorChannel);
        Slots = options.Slots ?? WorkerOptions.DefaultSlots(TorchRuntime.CudaDeviceCount);
    }

    /// <summary>The address other workers send logits to.</summary>
    public string Address { get; }

    /// <summary>The id the coordinator knows this worker by (empty until registered).</summary>
    public string WorkerId { get; private set; } = string.Empty;

    public int Slots { get; }

    /// <summary>Waits until the worker stops (Ctrl-C, <see cref="DisposeAsync"/>).</summary>
    public Task Completion => _loop ?? Task.CompletedTask;

    /// <summary>Starts the server and the registration/heartbeat loop.</summary>
    public static async Task<WorkerHost> StartAsync(WorkerOptions options, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Slots is < 1)
        {
            throw new ArgumentException($"--slots must be at least 1, got {options.Slots}");
        }

        var logger = loggers.CreateLogger("PeerDistill.Worker");
        var registry = new ExchangeRegistry();
        WorkerHost? self = null;
        var server = await GrpcServiceHost.StartAsync(
            new GrpcServiceHostOptions { Host = options.Host, Port = options.Port },
            services => services.AddPeerExchange(registry, logger).AddSingleton(new WorkerControlService(() => self!)),
            endpoints =>
            {
                endpoints.MapPeerExchange();
                endpoints.MapGrpcService<WorkerControlService>();
            }).ConfigureAwait(false);
        var address = HostedRun.NormalizeAddress(options.AdvertiseAddress ?? server.Address.ToString());
        self = new WorkerHost(options, logger, server, registry, address);
        self._loop = Task.Run(self.RunAsync);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        foreach (var run in _runs.Values)
        {
            await run.DisposeAsync().ConfigureAwait(false);
        }

        // One last heartbeat so the coordinator sees the interrupted peers' final state.
        if (!string.IsNullOrEmpty(WorkerId))
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _coordinator.HeartbeatAsync(Heartbeat().Request, cancellationToken: cts.Token).ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException)
            {
            }
        }

        await _server.DisposeAsync().ConfigureAwait(false);
        foreach (var c in _channels.Values)
        {
            c.Dispose();
        }

        _coordinatorChannel.Dispose();
        _stopping.Dispose();
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex RunIdPattern();

    private async Task RunAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                if (string.IsNullOrEmpty(WorkerId))
                {
                    await RegisterAsync().ConfigureAwait(false);
                }

                using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                var (request, ended) = Heartbeat();
                var reply = await _coordinator.HeartbeatAsync(request, cancellationToken: cts.Token).ResponseAsync.ConfigureAwait(false);
                await ForgetAsync(ended).ConfigureAwait(false);
                Apply(reply);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // The coordinator does not know this worker (it restarted, or our lease expired and
                // our peers went elsewhere): nobody watches them, so they stop, and we start afresh.
                await StopOrphansAsync().ConfigureAwait(false);
                WorkerId = string.Empty;
                continue;
            }
            catch (RpcException e) when (!_stopping.IsCancellationRequested)
            {
                Log.CoordinatorUnreachable(_logger, _options.Coordinator, e.Status.Detail);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever went wrong with one reply, the lease must go on being renewed.
                Log.HeartbeatFailed(_logger, e);
            }

            try
            {
                await Task.Delay(_heartbeatInterval, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RegisterAsync()
    {
        var request = new RegisterWorkerRequest { WorkerId = _options.Id ?? string.Empty, Address = Address };
        var cuda = TorchRuntime.CudaDeviceCount;
        for (var i = 0; i < Slots; i++)
        {
            request.Slots.Add(new Slot { Index = i, Device = cuda > 0 ? $"cuda:{i % cuda}" : "cpu", Threads = 1 });
        }

        var reply = await _coordinator.RegisterAsync(request, deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: _stopping.Token).ResponseAsync.ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(reply.OutputRoot) || string.IsNullOrWhiteSpace(reply.CheckpointRoot))
        {
            throw new InvalidOperationException("the coordinator's registration reply names no output or checkpoint root");
        }

        _roots = new Roots(Path.GetFullPath(reply.OutputRoot), Path.GetFullPath(reply.CheckpointRoot));
        WorkerId = reply.WorkerId;
        if (reply.HeartbeatIntervalMs > 0)
        {
            _heartbeatInterval = TimeSpan.FromMilliseconds(reply.HeartbeatIntervalMs);
        }

        Log.Registered(_logger, _options.Coordinator, WorkerId, Slots, Address);
    }

    /// <summary>The heartbeat to send, and the peers that had ended when it was made (their final state is in it).</summary>
    private (HeartbeatRequest Request, List<(HostedRun Run, HostedPeer Peer)> Ended) Heartbeat()
    {
        var request = new HeartbeatRequest { WorkerId = WorkerId };
        var ended = new List<(HostedRun, HostedPeer)>();
        foreach (var run in _runs.Values)
        {
            foreach (var peer in run.Peers)
            {
                if (peer.HasEnded)
                {
                    ended.Add((run, peer));
                }

                request.Peers.Add(peer.Progress.Snapshot());
            }
        }

        return (request, ended);
    }

    /// <summary>Forgets peers whose end the coordinator has now heard of; a run with no peer left is closed.</summary>
    private async Task ForgetAsync(List<(HostedRun Run, HostedPeer Peer)> ended)
    {
        var closed = new List<HostedRun>();
        lock (_startGate)
        {
            foreach (var (run, peer) in ended)
            {
                if (run.Remove(peer) && _runs.TryRemove(new KeyValuePair<(string, string), HostedRun>((run.Spec.Cohort, run.Run), run)))
                {
                    closed.Add(run);
                }
            }
        }

        foreach (var run in closed)
        {
            await run.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops every peer with a checkpoint, waits for them (at most <see cref="StopTimeout"/>) and closes their runs: the slots are free.</summary>
    private async Task StopOrphansAsync()
    {
        var running = _runs.Values.SelectMany(r => r.Peers).Where(p => !p.HasEnded).ToList();
        if (running.Count > 0)
        {
            Log.Orphaned(_logger, _options.Coordinator, running.Count, string.Join(", ", running.Select(p => p.Name)));
        }

        foreach (var peer in running)
        {
            peer.Stop("the coordinator no longer knows this worker: nobody watches its peers");
        }

        try
        {
            await Task.WhenAll(running.Select(p => p.Ended)).WaitAsync(StopTimeout, _stopping.Token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.StopSlow(_logger, StopTimeout.TotalSeconds);
        }

        List<HostedRun> runs;
        lock (_startGate)
        {
            runs = _runs.Values.ToList();
            _runs.Clear();
        }

        foreach (var run in runs)
        {
            await run.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Apply(HeartbeatReply reply)
    {
        foreach (var group in reply.Peers.GroupBy(p => (p.Cohort, p.Run)))
        {
            if (_runs.TryGetValue(group.Key, out var run))
            {
                run.UpdateDirectory(group);
            }
        }

        foreach (var stop in reply.Stop)
        {
            if (_runs.TryGetValue((stop.Cohort, stop.Run), out var run) && run.Find(stop.Peer) is { } peer && (stop.Generation == 0 || peer.Generation == stop.Generation))
            {
                peer.Stop("the coordinator stopped it");
            }
        }

        foreach (var assignment in reply.Start)
        {
            Activate(assignment);
        }
    }

    /// <summary>Starts the peer of an assignment once it passed every check; otherwise says why not.</summary>
    internal ActivatePeerReply Activate(Assignment? assignment)
    {
        if (assignment is null)
        {
            return Refused("-", "-", "the request carries no assignment");
        }

        var (cohort, peerName) = (assignment.Cohort, assignment.Peer);
        if (_roots is not { } roots)
        {
            return Refused(cohort, peerName, "this worker is not registered with a coordinator yet");
        }

        if (!RunIdPattern().IsMatch(assignment.Run))
        {
            return Refused(cohort, peerName, $"run id '{Quote(assignment.Run)}' is not one (1 to 128 letters, digits, '.', '-' or '_', starting with a letter or digit)");
        }

        if (assignment.Generation == 0)
        {
            return Refused(cohort, peerName, "generation 0 is not a generation (they start at 1)");
        }

        if (assignment.SlotIndex < 0 || assignment.SlotIndex >= Slots)
        {
            return Refused(cohort, peerName, $"slot {assignment.SlotIndex} does not exist: this worker has slots 0 to {Slots - 1}");
        }

        if (assignment.HasResumeFromStep && assignment.ResumeFromStep < 0)
        {
            return Refused(cohort, peerName, $"resume_from_step {assignment.ResumeFromStep} is not a step");
        }

        if ((Outside(assignment.OutputDir, roots.Output, "output_dir") ?? Outside(assignment.CheckpointDir, roots.Checkpoint, "checkpoint_dir")) is { } place)
        {
            return Refused(cohort, peerName, place);
        }

        try
        {
            lock (_startGate)
            {
                _runs.TryGetValue((cohort, assignment.Run), out var run);
                if (run?.Find(peerName) is { HasEnded: false } existing)
                {
                    if (existing.Generation == assignment.Generation)
                    {
                        return new ActivatePeerReply { Accepted = true, Reason = "already running this generation" };
                    }

                    if (existing.Generation > assignment.Generation)
                    {
                        return Refused(cohort, peerName, $"generation {existing.Generation} of it runs here already");
                    }

                    existing.Stop($"superseded by generation {assignment.Generation}");
                    return Refused(cohort, peerName, $"generation {existing.Generation} of it is stopping here; it starts once that has stopped");
                }

                if (_runs.Values.SelectMany(r => r.Peers).FirstOrDefault(p => !p.HasEnded && p.Slot == assignment.SlotIndex) is { } occupant)
                {
                    return Refused(cohort, peerName, $"slot {assignment.SlotIndex} is busy with peer '{occupant.Name}' (generation {occupant.Generation}) of cohort '{occupant.Progress.Snapshot().Cohort}'");
                }

                if (run is null)
                {
                    run = HostedRun.Create(assignment, Address, ChannelFor, _registry, _logger);
                    _runs[(cohort, assignment.Run)] = run;
                }
                else if (run.SpecText != assignment.SpecText)
                {
                    return Refused(cohort, peerName, $"its spec differs from the spec of run '{assignment.Run}' this worker hosts peers of");
                }
                else if (!run.Has(peerName))
                {
                    return Refused(cohort, peerName, $"cohort '{cohort}' has no peer '{Quote(peerName)}'");
                }

                run.UpdateDirectory(assignment.Peers);
                Log.Starting(_logger, peerName, cohort, assignment.Run, assignment.Generation, assignment.SlotIndex,
                    assignment.HasResumeFromStep ? $", resuming from step {assignment.ResumeFromStep}" : string.Empty);
                run.Start(assignment);
                return new ActivatePeerReply { Accepted = true };
            }
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or TorchException or UnauthorizedAccessException)
        {
            return Refused(cohort, peerName, e.Message);
        }
    }

    private ActivatePeerReply Refused(string cohort, string peer, string reason)
    {
        Log.StartRefused(_logger, Quote(peer), Quote(cohort), reason);
        return new ActivatePeerReply { Accepted = false, Reason = reason };
    }

    /// <summary>Why <paramref name="directory"/> may not be written (empty, or outside <paramref name="root"/>); null when it may.</summary>
    private static string? Outside(string directory, string root, string field)
    {
        if (string.IsNullOrWhiteSpace(directory))
        {
            return $"{field} is empty";
        }

        try
        {
            return ConfinedPath.IsUnder(directory, root)
                ? null
                : $"{field} '{Quote(directory)}' is outside the coordinator's root '{root}'; this worker writes nowhere else";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return $"{field} '{Quote(directory)}' cannot be resolved: {e.Message}";
        }
    }

    /// <summary>Stops a hosted peer and answers once it has stopped: the last step it completed and the checkpoint it wrote.</summary>
    internal async Task<DeactivatePeerReply> DeactivateAsync(DeactivatePeerRequest request, CancellationToken cancellation)
    {
        var target = request.Peer ?? new PeerRef();
        if (!_runs.TryGetValue((target.Cohort, target.Run), out var run) ||
            run.Find(target.Peer) is not { } peer ||
            (target.Generation != 0 && peer.Generation != target.Generation))
        {
            return new DeactivatePeerReply { Stopped = false, Step = -1 };
        }

        var running = !peer.HasEnded;
        peer.Stop(string.IsNullOrWhiteSpace(request.Reason) ? "deactivated" : Quote(request.Reason), request.Checkpoint);
        PeerEnd end;
        try
        {
            end = await peer.Ended.WaitAsync(StopTimeout, cancellation).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"Deactivate: peer '{target.Peer}' did not stop within {StopTimeout.TotalSeconds:0} s; it goes on stopping"));
        }
        catch (OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, $"Deactivate: the call ended before peer '{target.Peer}' had stopped; it goes on stopping"));
        }

        var reply = new DeactivatePeerReply { Stopped = running, Step = end.StepsCompleted - 1 };
        if (running && end.CheckpointStep is { } checkpoint)
        {
            reply.CheckpointStep = checkpoint;
        }

        return reply;
    }

    /// <summary>A client-supplied name, cut and escaped for one log line.</summary>
    private static string Quote(string value)
    {
        var text = value.Length > 80 ? value[..80] + "..." : value;
        return text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }

    private GrpcChannel ChannelFor(string address) => _channels.GetOrAdd(address, GrpcChannels.ForAddress);

    /// <summary>Where the coordinator lets this worker write (from its registration reply).</summary>
    private sealed record Roots(string Output, string Checkpoint);
}
