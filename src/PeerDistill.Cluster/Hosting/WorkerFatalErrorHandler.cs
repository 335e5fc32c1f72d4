using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Cluster.Hosting;

/// <summary>
/// What a worker silo does when Orleans meets an error it cannot go on from (the coordinator
/// restarted under it and the development membership table it knew is gone, this silo was declared
/// dead): Orleans' own handler ends the process at once, and the peers it trains would lose the
/// steps since their last checkpoint. This one stops every peer with a checkpoint first, then tells
/// the process to leave the cluster (the worker command joins again with a new silo).
/// </summary>
internal sealed partial class WorkerFatalErrorHandler(IServiceProvider services, ILogger<WorkerFatalErrorHandler> logger) : IFatalErrorHandler
{
    private int _handled;

    public bool IsUnexpected(Exception exception) => exception is not OperationCanceledException;


    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
    {
        var message = exception?.Message ?? "no exception";
        LogFatal(logger, context ?? string.Empty, message);
        if (Interlocked.Exchange(ref _handled, 1) != 0)
        {
            return;
        }

        var watch = services.GetService<CoordinatorWatch>();
        var peers = services.GetService<SiloPeerHost>();
        if (peers is not null)
        {
            peers.StopAllAsync("this worker's cluster is gone: " + (context ?? message)).GetAwaiter().GetResult();
        }

        watch?.Leave($"Orleans cannot go on in this cluster ({message})");
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "fatal cluster error ({Context}): {Message}; stopping every peer with a checkpoint, then joining again")]
    private static partial void LogFatal(ILogger logger, string context, string message);
}
