namespace PeerDistill.Api.Storage;

/// <summary>How the metrics writer buffers and writes (every default a constant here).</summary>
public sealed class MetricsWriterOptions
{
    /// <summary>The configuration section the options are bound from (under <c>Coordinator</c>).</summary>
    public const string Section = "Database:Metrics";

    /// <summary>
    /// Rows the buffer holds unless told otherwise: at 8 peers stepping 100 times a second, about
    /// 80 s of metrics, a stall much longer than any healthy database takes.
    /// </summary>
    public const int DefaultCapacity = 65_536;

    /// <summary>Rows written per transaction unless told otherwise (one commit per batch keeps the database's cost per row small).</summary>
    public const int DefaultBatchSize = 512;

    /// <summary>Seconds between two warnings about dropped rows (drops are counted in between).</summary>
    public const int DefaultDropWarningSeconds = 10;

    /// <summary>Attempts at writing one batch before it is dropped (and counted).</summary>
    public const int DefaultMaxAttempts = 5;

    /// <summary>Milliseconds to wait before writing a failed batch again.</summary>
    public const int DefaultRetryDelayMilliseconds = 1000;

    /// <summary>Rows the buffer holds (default <see cref="DefaultCapacity"/>); a row offered to a full buffer is dropped.</summary>
    public int Capacity { get; set; } = DefaultCapacity;

    /// <summary>Rows per transaction (default <see cref="DefaultBatchSize"/>).</summary>
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>Seconds between drop warnings (default <see cref="DefaultDropWarningSeconds"/>).</summary>
    public int DropWarningSeconds { get; set; } = DefaultDropWarningSeconds;

    /// <summary>Attempts per batch (default <see cref="DefaultMaxAttempts"/>).</summary>
    public int MaxAttempts { get; set; } = DefaultMaxAttempts;

    /// <summary>Milliseconds between attempts (default <see cref="DefaultRetryDelayMilliseconds"/>).</summary>
    public int RetryDelayMilliseconds { get; set; } = DefaultRetryDelayMilliseconds;

    /// <summary>Each problem of these options: the key (under <see cref="Section"/>) and what is wrong with it.</summary>
    public IEnumerable<(string Key, string Message)> Problems()
    {
        if (Capacity is < 1 or > 10_000_000)
        {
            yield return (nameof(Capacity), $"{Capacity} is out of range (1 to 10000000 rows)");
        }

        if (BatchSize is < 1 or > 100_000)
        {
            yield return (nameof(BatchSize), $"{BatchSize} is out of range (1 to 100000 rows)");
        }

        if (DropWarningSeconds is < 1 or > 86_400)
        {
            yield return (nameof(DropWarningSeconds), $"{DropWarningSeconds} is out of range (1 to 86400 seconds)");
        }

        if (MaxAttempts is < 1 or > 1000)
        {
            yield return (nameof(MaxAttempts), $"{MaxAttempts} is out of range (1 to 1000)");
        }

        if (RetryDelayMilliseconds is < 0 or > 600_000)
        {
            yield return (nameof(RetryDelayMilliseconds), $"{RetryDelayMilliseconds} is out of range (0 to 600000 ms)");
        }
    }
}
