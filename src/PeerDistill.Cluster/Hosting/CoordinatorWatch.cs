using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerDistill.Cluster.Grains;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// On a worker: asks the coordinator silo every <see cref="Interval"/> whether it is there.
/// <list type="bullet">
/// <item>With development clustering (a cluster on SQLite) the membership table lives on the
/// coordinator, so when it is gone the cluster is headless: nobody places, watches or reports. After
/// <see cref="Patience"/> without an answer (or when a new coordinator answers) the worker stops every
/// peer it hosts with a checkpoint and <see cref="Lost"/> completes: the process then leaves and joins
/// again.</item>
/// <item>With the membership in a PostgreSQL database the cluster outlives its coordinator (the cohort
/// grains live on the workers): the peers train on. When a new coordinator answers, the worker joins
/// its slot board again with the slots its peers hold.</item>
/// </list>
/// </summary>
public sealed partial class CoordinatorWatch(IGrainFactory grains, SiloPeerHost peers, SiloSettings silo, ILocalSiloDetails local, ILogger<CoordinatorWatch> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>How long the coordinator may not answer before its workers consider it gone.</summary>
    /// <remarks>As long as Orleans takes to declare a silo dead by default (three missed probes of 5 s): a coordinator busy for a few seconds on a loaded machine is not gone.</remarks>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly TaskCompletionSource<string> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes, with why, once the coordinator is gone and this worker's peers have stopped.</summary>
    public Task<string> Lost => _lost.Task;

    /// <summary>Whether the cluster outlives its coordinator (membership in the database).</summary>
    private bool Durable => silo.Database is { HostsMembership: true };

    /// <summary>This worker must leave its cluster (its peers have stopped already).</summary>
    public void Leave(string why) => _lost.TrySetResult(why);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long? incarnation = null;
        var lastAnswer = DateTimeOffset.UtcNow;
        var silent = false;
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
                        if (!Durable)
                        {
                            why = "a new coordinator answers for the one this worker joined";
                        }
                        else if (await RejoinAsync().ConfigureAwait(false))
                        {
                            incarnation = started;
                            silent = false;
                        }
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    if (DateTimeOffset.UtcNow - lastAnswer > Patience)
                    {
                        if (!Durable)
                        {
                            why = $"the coordinator has not answered for {Patience.TotalSeconds:0} s ({e.GetType().Name})";
                        }
                        else if (!silent)
                        {
                            silent = true;
                            LogSilent(logger, Patience.TotalSeconds);
                        }
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

    /// <summary>Joins a new coordinator's slot board with the slots this worker's peers hold; whether it was admitted.</summary>
    private async Task<bool> RejoinAsync()
    {
        var holders = peers.Holders();
        var admission = await grains.GetGrain<ISlotBoardGrain>(ISlotBoardGrain.Key).JoinAsync(silo.Name, local.SiloAddress.ToParsableString(), holders).ConfigureAwait(false);
        if (admission.Admitted)
        {
            LogRejoined(logger, silo.Name, holders.Count);
        }
        else
        {
            LogRejoinRefused(logger, silo.Name, admission.Holder ?? "another silo");
        }

        return admission.Admitted;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Why}: stopping every peer with a checkpoint, then joining again")]
    private static partial void LogLost(ILogger logger, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the coordinator has not answered for {Seconds} s; the peers here train on (the cluster's membership is in its database) and this worker joins the coordinator again when it answers")]
    private static partial void LogSilent(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "worker '{Worker}' joined the new coordinator's slot board with {Peers} peer(s) training here")]
    private static partial void LogRejoined(ILogger logger, string worker, int peers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the new coordinator's slot board refused worker '{Worker}' ({Holder} holds the id); this worker's slots are not offered to new peers")]
    private static partial void LogRejoinRefused(ILogger logger, string worker, string holder);
}
