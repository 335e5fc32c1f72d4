using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerDistill.Cluster.Exchange;
using PeerDistill.Cluster.Grains;
using PeerDistill.Cluster.Transport;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// A worker process: an Orleans silo that joins the coordinator's cluster with its slots under a
/// worker id no live silo holds (peer grains are placed on them), and the gRPC server where the peers
/// it hosts receive logits (PeerExchange), with gRPC health and reflection. It stops in this order
/// (<see cref="StopAsync"/>): its peers stop at their next step boundary with a checkpoint and their
/// cohorts hear it (and re-activate them elsewhere from exactly that step), then the exchange streams
/// end and the silo leaves the cluster.
/// </summary>
public sealed partial class WorkerNode : IAsyncDisposable
{
    /// <summary>How long the peers may take to stop (each finishes the step it is in, then writes a checkpoint).</summary>
    public static readonly TimeSpan PeerStopTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How long the stopped peers' grains may take to report their ends to their cohorts (they report every 0.5 s).</summary>
    public static readonly TimeSpan ReportTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long the server and the silo may take to stop once the peers have (the silo leaves the cluster gracefully).</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a worker whose id a member of the cluster holds waits for that silo to go before it
    /// gives up: a killed worker's silo is declared dead within a few seconds (see
    /// <see cref="SiloSettings.ProbeTimeout"/>), and its restart then takes the id back.
    /// </summary>
    public static readonly TimeSpan JoinPatience = TimeSpan.FromSeconds(20);

    private readonly WebApplication _app;
    private bool _startFailed;
    private readonly ExchangeRegistry _registry;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private Task<WorkerStopped>? _stopping;
    private IReadOnlyList<(string Peer, long Step)>? _toldToStop;
    private long _stopRequested;

    /// <summary>The worker of <paramref name="app"/>, built with <see cref="WorkerHosting.AddPeerDistillWorker"/> and mapped with <see cref="WorkerHosting.MapPeerDistillWorker"/>; <see cref="StartAsync"/> starts it.</summary>
    public WorkerNode(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        _app = app;
        Silo = app.Services.GetRequiredService<SiloSettings>();
        ExchangeAddress = app.Services.GetRequiredService<ExchangeEndpoint>().Address;
        _registry = app.Services.GetRequiredService<ExchangeRegistry>();
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PeerDistill.Worker");
    }

    public SiloSettings Silo { get; }

    /// <summary>Where this worker's PeerExchange is served (what other silos send logits to).</summary>
    public string ExchangeAddress { get; }

    /// <summary>This worker's silo (Orleans address, parsable form: host:port@generation, unique per process).</summary>
    public string SiloAddress => _app.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();

    public IServiceProvider Services => _app.Services;

    /// <summary>Where the worker serves Prometheus metrics (<c>http://host:port/metrics</c>); null without a metrics port.</summary>
    public Uri? MetricsAddress => _app.MetricsAddress();

    private SiloPeerHost Peers => _app.Services.GetRequiredService<SiloPeerHost>();

    /// <summary>Completes when the host stops on its own (the silo left the cluster, or was declared dead by it).</summary>
    public Task Stopped
    {
        get
        {
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopped.TrySetResult());
            return stopped.Task;
        }
    }

    /// <summary>Completes, with why, once the coordinator is gone and this worker's peers stopped with a checkpoint (the process then joins again).</summary>
    public Task<string> CoordinatorLost => _app.Services.GetRequiredService<CoordinatorWatch>().Lost;

    /// <summary>
    /// Starts the exchange server and the silo, and takes the worker id on the slot board; returns
    /// once the silo has joined the cluster and may host peers. <see cref="WorkerIdTakenException"/>
    /// when a live member of the cluster holds the id (the silo has left again by then).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _startFailed = true;
            throw;
        }

        await JoinAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Begins to stop, on the signal's own thread (it returns at once): no new peer starts here, and
    /// every hosted peer is told to stop at its next step boundary with a checkpoint, before anything
    /// else happens (Orleans' own shutdown comes after they have). Idempotent.
    /// </summary>
    public void BeginStop(string reason)
    {
        lock (_gate)
        {
            if (_toldToStop is not null)
            {
                return;
            }

            _stopRequested = Stopwatch.GetTimestamp();
            _toldToStop = Peers.Drain(reason);
        }

        LogStopping(_logger, Silo.Name, reason, _toldToStop.Count == 0 ? "no peers" : string.Join(", ", _toldToStop.Select(p => $"'{p.Peer}' at step {p.Step}")));
    }

    /// <summary>
    /// Stops the worker (<see cref="BeginStop"/> first, if it was not called): waits for its peers to
    /// stop with a checkpoint and their cohorts to hear it, then ends the exchange streams and leaves
    /// the cluster. Every step is bounded; what it took is returned.
    /// </summary>
    public Task<WorkerStopped> StopAsync(string reason)
    {
        lock (_gate)
        {
            return _stopping ??= StopCoreAsync(reason);
        }
    }

    private async Task<WorkerStopped> StopCoreAsync(string reason)
    {
        BeginStop(reason);
        var peers = Peers;
        try
        {
            // No new peer comes here while the others go on (the cohorts place theirs elsewhere).
            await _app.Services.GetRequiredService<IGrainFactory>().GetGrain<ISlotBoardGrain>(ISlotBoardGrain.Key).DrainAsync(SiloAddress).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogDrainUnheard(_logger, e.Message);
        }

        var stopped = await peers.WaitForPeersAsync(PeerStopTimeout).ConfigureAwait(false);
        var peersStopped = Stopwatch.GetElapsedTime(_stopRequested);
        var reported = await peers.WaitUntilReportedAsync(ReportTimeout).ConfigureAwait(false);
        if (!reported)
        {
            LogReportsUnheard(_logger, ReportTimeout.TotalSeconds);
        }

        _registry.Close();
        await StopHostAsync().ConfigureAwait(false);
        return new WorkerStopped(_toldToStop!, stopped, reported, peersStopped, Stopwatch.GetElapsedTime(_stopRequested));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_toldToStop is not null)
            {
                await StopAsync("worker disposed").ConfigureAwait(false);
            }
            else
            {
                // Not stopped on purpose (the coordinator is gone, the silo was declared dead): what
                // peers are left stop with their grains' deactivation.
                _registry.Close();
                await StopHostAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            await Peers.DisposeAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
            _registry.Dispose();
        }
    }

    private async Task StopHostAsync()
    {
        using var timeout = new CancellationTokenSource(ShutdownTimeout);
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (_startFailed && GrpcHosting.IsStopOfWhatNeverStarted(e))
        {
            // A host whose start failed part way (a port taken): what never started (an Orleans silo refuses to stop before it ran) is not an error.
        }
    }

    /// <summary>Takes this silo's worker id on the slot board, waiting (at most <see cref="JoinPatience"/>) while a silo that may be dead holds it.</summary>
    private async Task JoinAsync(CancellationToken cancellationToken)
    {
        var board = _app.Services.GetRequiredService<IGrainFactory>().GetGrain<ISlotBoardGrain>(ISlotBoardGrain.Key);
        var clock = Stopwatch.StartNew();
        var said = false;
        while (true)
        {
            var admission = await board.JoinAsync(Silo.Name, SiloAddress).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (admission.Admitted)
            {
                return;
            }

            if (clock.Elapsed >= JoinPatience)
            {
                throw new WorkerIdTakenException($"worker id '{Silo.Name}' is taken: silo {admission.Holder} holds it and has been a live member of {Silo.ClusterDescription} for the {JoinPatience.TotalSeconds:0} s this worker waited; give this worker another --id (or stop the other one)");
            }

            if (!said)
            {
                LogIdHeld(_logger, Silo.Name, admission.Holder!, JoinPatience.TotalSeconds);
                said = true;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "worker '{Worker}' stopping ({Reason}): {Peers} stop at their next step boundary with a checkpoint")]
    private static partial void LogStopping(ILogger logger, string worker, string reason, string peers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the slot board did not hear that this worker stops ({Message}); its cohorts place their peers elsewhere anyway")]
    private static partial void LogDrainUnheard(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "not every stopped peer was reported to its cohort within {Seconds} s; its cohort finds it lost when this silo leaves")]
    private static partial void LogReportsUnheard(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "worker id '{Worker}' is held by silo {Holder}, a member of the cluster; waiting up to {Seconds} s for it to leave or be declared dead")]
    private static partial void LogIdHeld(ILogger logger, string worker, string holder, double seconds);
}
