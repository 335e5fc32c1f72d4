using Microsoft.Extensions.Logging;

namespace PeerDistill.Coordinator.Internal;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Worker {WorkerId} registered from {Address} with {Slots} slot(s)")]
    public static partial void WorkerRegistered(ILogger logger, string workerId, string address, int slots);

    [LoggerMessage(2, LogLevel.Warning, "Worker {WorkerId} registered again from {Address}: it restarted; the peers it hosted are lost")]
    public static partial void WorkerRestarted(ILogger logger, string workerId, string address);

    [LoggerMessage(3, LogLevel.Warning, "Worker {WorkerId} at {Address} lost: no heartbeat for {Seconds:0.0} s (lease {LeaseSeconds:0.0} s)")]
    public static partial void WorkerLost(ILogger logger, string workerId, string address, double seconds, double leaseSeconds);

    [LoggerMessage(4, LogLevel.Information, "Heartbeat from unknown worker {WorkerId}: told to register again")]
    public static partial void UnknownWorker(ILogger logger, string workerId);

    [LoggerMessage(5, LogLevel.Information, "Cohort {Cohort} run {Run} submitted: {Peers} peer(s), output {Output}")]
    public static partial void Submitted(ILogger logger, string cohort, string run, int peers, string output);

    [LoggerMessage(6, LogLevel.Information, "Cohort {Cohort} run {Run}: peer {Peer} generation {Generation} placed on worker {WorkerId} slot {Slot} ({Resume})")]
    public static partial void Placed(ILogger logger, string cohort, string run, string peer, ulong generation, string workerId, int slot, string resume);

    [LoggerMessage(7, LogLevel.Warning, "Cohort {Cohort} run {Run}: peer {Peer} recovering as generation {Generation}: {Reason}")]
    public static partial void Recovering(ILogger logger, string cohort, string run, string peer, ulong generation, string reason);

    [LoggerMessage(8, LogLevel.Warning, "Cohort {Cohort} run {Run}: peer {Peer} failed: {Message}")]
    public static partial void PeerFailed(ILogger logger, string cohort, string run, string peer, string message);

    [LoggerMessage(9, LogLevel.Information, "Cohort {Cohort} run {Run} ended {State} after {Seconds:0.0} s")]
    public static partial void Finished(ILogger logger, string cohort, string run, string state, double seconds);

    [LoggerMessage(10, LogLevel.Debug, "Cohort {Cohort} run {Run}: progress of peer {Peer} generation {Generation} is stale (current {Current}); stopping it")]
    public static partial void StaleProgress(ILogger logger, string cohort, string run, string peer, ulong generation, ulong current);

    [LoggerMessage(11, LogLevel.Debug, "Progress ignored for {Cohort}/{Run}/{Peer} generation {Generation}: {Why}")]
    public static partial void ProgressIgnored(ILogger logger, string cohort, string run, string peer, ulong generation, string why);

    [LoggerMessage(12, LogLevel.Debug, "Wrote {Path}")]
    public static partial void SummaryWritten(ILogger logger, string path);

    [LoggerMessage(13, LogLevel.Error, "Could not write {Path}")]
    public static partial void SummaryFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(14, LogLevel.Information, "Coordinator serving WorkerRegistry and CohortService at {Address}")]
    public static partial void HostStarted(ILogger logger, Uri address);

    [LoggerMessage(15, LogLevel.Error, "Coordinator tick failed; the next tick tries again")]
    public static partial void TickFailed(ILogger logger, Exception exception);

    [LoggerMessage(16, LogLevel.Debug, "Could not list the checkpoints of {Peer} in {Directory}; starting it from scratch")]
    public static partial void CheckpointListFailed(ILogger logger, string peer, string directory, Exception exception);

    [LoggerMessage(17, LogLevel.Information, "Cohort {Cohort} run {Run} cancelled: {Reason}")]
    public static partial void Cancelled(ILogger logger, string cohort, string run, string reason);
}
