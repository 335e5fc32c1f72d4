using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PeerDistill.Rpc;
using PeerDistill.Rpc.Services;
using PeerDistill.Rpc.V1;
using PeerDistill.Torch;
using PeerDistill.Worker.Exchange;

namespace PeerDistill.Worker.Hosting;

/// <summary>
/// A worker process: serves PeerExchange and WorkerControl, registers with the coordinator, keeps
/// its lease by heartbeat (reporting every hosted peer's progress), and starts and stops peers as
/// the coordinator's replies say. A coordinator that forgot it (NotFound) gets a new registration.
/// </summary>
public sealed class WorkerHost : IAsyncDisposable
{
    private readonly WorkerOptions _options;
    private readonly ILogger _logger;
    private readonly GrpcServerHost _server;
    private readonly ExchangeRegistry _registry;
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Cohort, string Run), HostedRun> _runs = new();
    private readonly GrpcChannel _coordinator;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startGate = new();
    private Task? _loop;
    private TimeSpan _heartbeatInterval = TimeSpan.FromSeconds(1);

    private WorkerHost(WorkerOptions options, ILogger logger, GrpcServerHost server, ExchangeRegistry registry, string address)
    {
        _options = options;
        _logger = logger;
        _server = server;
        _registry = registry;
        Address = address;
        _coordinator = GrpcChannel.ForAddress(options.Coordinator);
        Slots = options.Slots ?? WorkerOptions.DefaultSlots(TorchRuntime.CudaDeviceCount);
    }

    /// <summary>The address other workers send logits to.</summary>
    public string Address { get; }

    /// <summary>The id the coordinator knows this worker by (empty until registered).</summary>
    public string WorkerId { get; private set; } = string.Empty;

    public int Slots { get; }

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
        var control = ServerServiceDefinition.CreateBuilder()
            .AddMethod(WorkerControlMethods.Activate, (request, _) => Task.FromResult(self!.Activate(request.Assignment)))
            .AddMethod(WorkerControlMethods.Deactivate, (request, _) => Task.FromResult(self!.Deactivate(request)))
            .Build();
        var server = await GrpcServerHost.StartAsync(new GrpcServerHostOptions { Host = options.Host, Port = options.Port }, PeerExchangeService.Create(registry, logger), control).ConfigureAwait(false);
        var address = HostedRun.NormalizeAddress(options.AdvertiseAddress ?? server.Address.ToString());
        self = new WorkerHost(options, logger, server, registry, address);
        self._loop = Task.Run(self.RunAsync);
        return self;
    }

    /// <summary>Waits until the worker stops (Ctrl-C, <see cref="DisposeAsync"/>).</summary>
    public Task Completion => _loop ?? Task.CompletedTask;

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
                await _coordinator.CallInvoker.AsyncUnaryCall(WorkerRegistryMethods.Heartbeat, new CallOptions(CancellationToken: cts.Token), Heartbeat()).ResponseAsync.ConfigureAwait(false);
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

        _coordinator.Dispose();
        _stopping.Dispose();
    }

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
                var reply = await _coordinator.CallInvoker.AsyncUnaryCall(WorkerRegistryMethods.Heartbeat, new CallOptions(CancellationToken: cts.Token), Heartbeat()).ResponseAsync.ConfigureAwait(false);
                Apply(reply);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // The coordinator does not know this worker (it restarted, or our lease expired).
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

        var reply = await _coordinator.CallInvoker.AsyncUnaryCall(WorkerRegistryMethods.Register, new CallOptions(CancellationToken: _stopping.Token).WithTimeout(TimeSpan.FromSeconds(5)), request).ResponseAsync.ConfigureAwait(false);
        WorkerId = reply.WorkerId;
        if (reply.HeartbeatIntervalMs > 0)
        {
            _heartbeatInterval = TimeSpan.FromMilliseconds(reply.HeartbeatIntervalMs);
        }

        Log.Registered(_logger, _options.Coordinator, WorkerId, Slots, Address);
    }

    private HeartbeatRequest Heartbeat()
    {
        var request = new HeartbeatRequest { WorkerId = WorkerId };
        foreach (var run in _runs.Values)
        {
            request.Peers.AddRange(run.Peers.Select(p => p.Progress.Snapshot()));
        }

        return request;
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
            if (_runs.TryGetValue((stop.Cohort, stop.Run), out var run))
            {
                run.Stop(stop.Peer, stop.Generation, "the coordinator stopped it");
            }
        }

        foreach (var assignment in reply.Start)
        {
            Activate(assignment);
        }
    }

    private ActivatePeerReply Activate(Assignment assignment)
    {
        try
        {
            HostedRun run;
            lock (_startGate)
            {
                if (!_runs.TryGetValue((assignment.Cohort, assignment.Run), out run!))
                {
                    run = HostedRun.Create(assignment, Address, ChannelFor, _registry, _logger);
                    _runs[(assignment.Cohort, assignment.Run)] = run;
                }
            }

            run.UpdateDirectory(assignment.Peers);
            Log.Starting(_logger, assignment.Peer, assignment.Cohort, assignment.Run, assignment.Generation, assignment.SlotIndex,
                assignment.HasResumeFromStep ? $", resuming from step {assignment.ResumeFromStep}" : string.Empty);
            var started = run.Start(assignment);
            return new ActivatePeerReply { Accepted = true, Reason = started ? string.Empty : "already running this generation" };
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or TorchException)
        {
            Log.StartFailed(_logger, assignment.Peer, assignment.Cohort, e);
            return new ActivatePeerReply { Accepted = false, Reason = e.Message };
        }
    }

    private DeactivatePeerReply Deactivate(DeactivatePeerRequest request)
    {
        var stopped = _runs.TryGetValue((request.Peer.Cohort, request.Peer.Run), out var run)
            && run.Stop(request.Peer.Peer, request.Peer.Generation, string.IsNullOrEmpty(request.Reason) ? "deactivated" : request.Reason);
        return new DeactivatePeerReply { Stopped = stopped };
    }

    private GrpcChannel ChannelFor(string address) => _channels.GetOrAdd(address, a => GrpcChannel.ForAddress(a));
}
