using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerDistill.Cluster.Grains;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// On a worker: asks the coordinator silo every <see cref="Interval"/> whether it is there. With
/// development clustering the membership table lives on the coordinator, so when it is gone the
/// cluster is headless: nobody places, watches or reports. After <see cref="Patience"/> without an
/// answer (or when a new coordinator answers) the worker stops every peer it hosts with a
/// checkpoint and <see cref="Lost"/> completes: the process then leaves and joins again.
/// </summary>
public sealed partial class CoordinatorWatch(IGrainFactory grains, SiloPeerHost peers, ILogger<CoordinatorWatch> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>How long the coordinator may not answer before its workers consider it gone.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private readonly TaskCompletionSource<string> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes, with why, once the coordinator is gone and this worker's peers have stopped.</summary>
    public Task<string> Lost => _lost.Task;

    /// <summary>This worker must leave its cluster (its peers have stopped already).</summary>
    public void Leave(string why) => _lost.TrySetResult(why);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long? incarnation = null;
        var lastAnswer = DateTimeOffset.UtcNow;
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                string? why = null;
                try
                {
                    var started = await grains.GetGrain<ICoordinatorGrain>(ICoordinatorGrain.Key).PingAsync().WaitAsync(Interval * 2, stoppingToken).ConfigureAwait(false);
                    lastAnswer = DateTimeOffset.UtcNow;
                    incarnation ??= started;
                    if (started != incarnation)
                    {
                        why = "a new coordinator answers for the one this worker joined";
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    if (DateTimeOffset.UtcNow - lastAnswer > Patience)
                    {
                        why = $"the coordinator has not answered for {Patience.TotalSeconds:0} s ({e.GetType().Name})";
                    }
                }

                if (why is not null)
                {
                    LogLost(logger, why);
                    await peers.StopAllAsync("the coordinator is gone: nobody watches its peers").ConfigureAwait(false);
                    _lost.TrySetResult(why);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Why}: stopping every peer with a checkpoint, then joining again")]
    private static partial void LogLost(ILogger logger, string why);
}
