using Microsoft.Extensions.Logging;

namespace PeerDistill.Api.Storage;

internal static partial class StorageLog
{
    [LoggerMessage(400, LogLevel.Information, "database schema ({Provider}) at version {Version} ({Name}): applied")]
    public static partial void MigrationApplied(ILogger logger, DatabaseProvider provider, int version, string name);

    [LoggerMessage(401, LogLevel.Debug, "database schema ({Provider}) is current at version {Version}")]
    public static partial void SchemaCurrent(ILogger logger, DatabaseProvider provider, int version);

    [LoggerMessage(410, LogLevel.Warning, "metrics buffer full ({Capacity} rows): {Dropped} row(s) dropped so far; the database is slower than training")]
    public static partial void MetricsDropped(ILogger logger, int capacity, long dropped);

    [LoggerMessage(411, LogLevel.Warning, "writing {Rows} metrics row(s) failed (attempt {Attempt} of {Attempts}): {Message}")]
    public static partial void MetricsBatchFailed(ILogger logger, int rows, int attempt, int attempts, string message);

    [LoggerMessage(412, LogLevel.Error, "dropped a batch of {Rows} metrics row(s) after {Attempts} failed attempts")]
    public static partial void MetricsBatchDropped(ILogger logger, int rows, int attempts);

    [LoggerMessage(413, LogLevel.Warning, "stopped the metrics writer with {Rows} row(s) not written")]
    public static partial void MetricsLeftUnwritten(ILogger logger, long rows);
}
