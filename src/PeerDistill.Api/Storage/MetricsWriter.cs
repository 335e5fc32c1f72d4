using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Api.Storage;

/// <summary>
/// Writes metrics rows to the database in batches, off the caller's thread. <see cref="TryAdd"/>
/// never blocks: a full buffer drops the row and counts it (with a warning at most every
/// <see cref="MetricsWriterOptions.DropWarningSeconds"/>), so a slow or stalled database never
/// stalls a training step. A dedicated loop takes up to a batch at a time and writes it in one
/// transaction (idempotent: a batch written again duplicates nothing), retrying a failed batch
/// <see cref="MetricsWriterOptions.MaxAttempts"/> times before dropping it. Started and stopped
/// as a hosted service; stopping writes what is buffered until the stop is cancelled.
/// </summary>
internal sealed class MetricsWriter : IHostedService, IAsyncDisposable
{
    private readonly IRunStore _store;
    private readonly MetricsWriterOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MetricsWriter> _logger;
    private readonly Channel<MetricSample> _buffer;
    private readonly CancellationTokenSource _abort = new();
    private int _disposed;
    private Task? _loop;
    private long _dropped;
    private long _written;
    private long _failedAttempts;
    private long _lastWarningTicks = long.MinValue;

    public MetricsWriter(IRunStore store, MetricsWriterOptions options, TimeProvider time, ILogger<MetricsWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problems().FirstOrDefault() is { Key: not null } problem)
        {
            throw new ArgumentException($"{MetricsWriterOptions.Section}:{problem.Key} {problem.Message}", nameof(options));
        }

        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _buffer = Channel.CreateBounded<MetricSample>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Rows dropped: offered to a full (or stopped) buffer, or of a batch that failed every attempt.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Counts <paramref name="rows"/> dropped (here and in <see cref="ApiTelemetry.MetricsDropped"/>); the total so far.</summary>
    private long Drop(long rows)
    {
        ApiTelemetry.MetricsDropped.Add(rows);
        return Interlocked.Add(ref _dropped, rows);
    }

    /// <summary>Rows written (their batches committed).</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Attempts at writing a batch that failed.</summary>
    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);

    /// <summary>Rows buffered, not yet taken for writing.</summary>
    public int Buffered => _buffer.Reader.Count;

    /// <summary>
    /// Completes when the buffer has room for a row (at once if it has): for a reader of a record it
    /// can wait on (the metrics files), which then falls behind instead of losing rows. False once
    /// the writer is stopped.
    /// </summary>
    public ValueTask<bool> WaitForRoomAsync(CancellationToken cancellationToken) => _buffer.Writer.WaitToWriteAsync(cancellationToken);

    /// <summary>Buffers a row for writing; false (and counted in <see cref="Dropped"/>) when the buffer is full or stopped. Never blocks.</summary>
    public bool TryAdd(MetricSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (_buffer.Writer.TryWrite(sample))
        {
            return true;
        }

        var dropped = Drop(1);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarningTicks);
        if ((last == long.MinValue || _time.GetElapsedTime(last, now) >= TimeSpan.FromSeconds(_options.DropWarningSeconds))
            && Interlocked.CompareExchange(ref _lastWarningTicks, now, last) == last)
        {
            StorageLog.MetricsDropped(_logger, _options.Capacity, dropped);
        }

        return false;
    }

    /// <summary>Starts the writing loop on a thread of its own (a stalled database blocks only that thread).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop ??= Task.Factory.StartNew(() => RunAsync(_abort.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        return Task.CompletedTask;
    }

    /// <summary>Stops taking rows and writes what is buffered; when <paramref name="cancellationToken"/> fires first, gives up (the rest counts as dropped).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _buffer.Writer.TryComplete();
        if (_loop is null)
        {
            return;
        }

        using (cancellationToken.Register(() => _abort.Cancel()))
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        var left = 0L;
        while (_buffer.Reader.TryRead(out _))
        {
            left++;
        }

        if (left > 0)
        {
            Drop(left);
            StorageLog.MetricsLeftUnwritten(_logger, left);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Once: the container disposes the writer both as itself and as the hosted service it also is.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        using (var stopped = new CancellationTokenSource())
        {
            await stopped.CancelAsync().ConfigureAwait(false);
            await StopAsync(stopped.Token).ConfigureAwait(false);
        }

        _abort.Dispose();
    }

    private async Task RunAsync(CancellationToken abort)
    {
        var batch = new List<MetricSample>(_options.BatchSize);
        var reader = _buffer.Reader;
        while (await reader.WaitToReadAsync(abort).ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _options.BatchSize && reader.TryRead(out var sample))
            {
                batch.Add(sample);
            }

            try
            {
                await WriteAsync(batch, abort).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                Drop(batch.Count);
                throw;
            }
        }
    }

    private async Task WriteAsync(List<MetricSample> batch, CancellationToken abort)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _store.InsertMetricsAsync(batch, abort).ConfigureAwait(false);
                Interlocked.Add(ref _written, batch.Count);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !abort.IsCancellationRequested)
            {
                Interlocked.Increment(ref _failedAttempts);
                StorageLog.MetricsBatchFailed(_logger, batch.Count, attempt, _options.MaxAttempts, e.Message);
                if (attempt >= _options.MaxAttempts)
                {
                    Drop(batch.Count);
                    StorageLog.MetricsBatchDropped(_logger, batch.Count, attempt);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(_options.RetryDelayMilliseconds), _time, abort).ConfigureAwait(false);
            }
        }
    }
}
