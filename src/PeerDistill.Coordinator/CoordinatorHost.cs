using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerDistill.Coordinator.Internal;
using PeerDistill.Protocol;

namespace PeerDistill.Coordinator;

/// <summary>
/// A running coordinator: a <see cref="GrpcServiceHost"/> serving WorkerRegistry and CohortService
/// (and gRPC health and reflection) over a <see cref="CoordinatorState"/>, and the timer that calls <see cref="CoordinatorState.Tick"/>.
/// Dispose it to stop (watch streams end, running calls get a few seconds).
/// </summary>
public sealed class CoordinatorHost : IAsyncDisposable
{
    private readonly GrpcServiceHost _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _ticker;
    private readonly ILogger _logger;
    private int _stopped;

    private CoordinatorHost(GrpcServiceHost server, CoordinatorState state, ILogger logger)
    {
        _server = server;
        State = state;
        _logger = logger;
        _ticker = Task.Run(() => TickLoopAsync(_stop.Token));
    }

    /// <summary>The coordinator's state (what the services serve).</summary>
    public CoordinatorState State { get; }

    /// <summary>The address workers and clients use, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Address => _server.Address;

    /// <summary>The port the server listens on (useful with port 0).</summary>
    public int Port => _server.Port;

    /// <summary>
    /// Starts a coordinator on <paramref name="server"/>'s host and port (default 127.0.0.1, a free
    /// port). Logs go to <paramref name="loggerFactory"/>, or to the server's own console log.
    /// </summary>
    public static async Task<CoordinatorHost> StartAsync(
        CoordinatorOptions options,
        GrpcServiceHostOptions? server = null,
        ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TickInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"CoordinatorOptions.TickInterval must be positive, got {options.TickInterval}", nameof(options));
        }

        var host = await GrpcServiceHost.StartAsync(
            server ?? new GrpcServiceHostOptions(),
            services => services.AddCoordinatorServices(options, loggerFactory),
            endpoints => endpoints.MapCoordinatorServices(),
            cancellationToken).ConfigureAwait(false);
        var state = host.Services.GetRequiredService<CoordinatorState>();
        var factory = loggerFactory ?? host.Services.GetRequiredService<ILoggerFactory>();
        var logger = factory.CreateLogger<CoordinatorHost>();
        Log.HostStarted(logger, host.Address);
        return new CoordinatorHost(host, state, logger);
    }

    /// <summary>Stops the timer, ends the watch streams and stops the server (running calls get up to <paramref name="timeout"/>, default 5 s).</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _ticker.ConfigureAwait(false);
        State.Shutdown();
        await _server.StopAsync(timeout ?? TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        finally
        {
            await _server.DisposeAsync().ConfigureAwait(false);
            _stop.Dispose();
        }
    }

    private async Task TickLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(State.Options.TickInterval, State.Options.TimeProvider ?? TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    State.Tick();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.TickFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
