using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PeerDistill.Api.Storage;

namespace PeerDistill.Api.Access;

/// <summary>One entry of the audit trail.</summary>
/// <param name="Id">Its place in the trail (grows with every entry).</param>
/// <param name="Time">When it happened.</param>
/// <param name="Actor">Who: a token's name or a JWT's subject.</param>
/// <param name="ActorKind">The kind of credential.</param>
/// <param name="Project">The actor's project; null for every project.</param>
/// <param name="Action">What: the API operation (SubmitRun, CancelRun, CreateToken, ...).</param>
/// <param name="Cohort">The cohort acted on, if any.</param>
/// <param name="Run">The run acted on, if any.</param>
/// <param name="Target">Another thing acted on (a token's name), if any.</param>
/// <param name="Outcome"><c>ok</c>, or the refusal (<c>denied</c>, <c>not_found</c>, ...).</param>
/// <param name="Address">The client's address.</param>
/// <param name="Detail">What else there is to say (the refusal's reason), at most <see cref="AuditTrail.MaxDetailLength"/> characters.</param>
public sealed record AuditEntry(long Id, DateTimeOffset Time, string Actor, string ActorKind, string? Project, string Action, string? Cohort, string? Run, string? Target, string Outcome, string? Address, string? Detail);

/// <summary>Which entries to read: newest first, older than <paramref name="Before"/> (an entry id) when given.</summary>
/// <remarks>With a <paramref name="Project"/>, only the entries of actors of that project.</remarks>
public sealed record AuditQuery(int Limit = AuditQuery.DefaultLimit, long? Before = null, string? Actor = null, string? Cohort = null, string? Project = null)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
}

/// <summary>
/// The audit trail, in the coordinator's database (table <c>audit</c>): every action that changes
/// something (runs and tokens), done or refused, and every request refused for its credential's role or
/// project. Reads are for admins.
/// </summary>
/// <remarks>
/// Entries are written in batches by one loop, off the request's path: an action that changed something
/// (outcome <c>ok</c>) is answered once its entry is committed, so an answered change is always in the
/// trail; a refusal is answered at once and its entry follows within a batch, so a flood of refused
/// requests costs one transaction per <see cref="BatchSize"/> entries, not a disk write each, and never
/// holds up an answer or the cluster's own writes to the same database. When <see cref="Capacity"/>
/// refusals wait unwritten, further ones are counted and dropped (logged at most every
/// <see cref="DropWarningInterval"/>). A read first waits for every entry recorded before it. A write
/// that fails is logged (the action it records has happened). Disposing writes what is buffered.
/// </remarks>
public sealed partial class AuditTrail : IAsyncDisposable
{
    /// <summary>The longest detail kept, in characters.</summary>
    public const int MaxDetailLength = 1000;

    /// <summary>Entries waiting to be written, at most.</summary>
    public const int Capacity = 10_000;

    /// <summary>Entries written in one transaction, at most.</summary>
    public const int BatchSize = 256;

    /// <summary>The shortest time between two warnings about dropped entries.</summary>
    public static readonly TimeSpan DropWarningInterval = TimeSpan.FromSeconds(10);

    private const string Columns = "time_ms, actor, actor_kind, project, action, cohort, run_id, target, outcome, address, detail";

    private readonly StoreDatabase _database;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditTrail> _logger;
    private readonly Channel<Pending> _buffer = Channel.CreateBounded<Pending>(new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Task _loop;
    private long _dropped;
    private long _lastWarning = long.MinValue;

    public AuditTrail(StoreDatabase database, TimeProvider time, ILogger<AuditTrail> logger)
    {
        _database = database;
        _time = time;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Entries dropped: refusals offered while <see cref="Capacity"/> entries waited.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Records that <paramref name="caller"/> did <paramref name="action"/>: for outcome <c>ok</c>
    /// completes once the entry is committed, for a refusal at once.
    /// </summary>
    public Task RecordAsync(ApiCaller caller, string action, string outcome, string? cohort = null, string? run = null, string? target = null, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var entry = new AuditEntry(0, _time.GetUtcNow(), caller.Name, caller.Kind, caller.Project, action, Cut(cohort, 200), Cut(run, 200), Cut(target, 200), outcome, caller.Address, Cut(detail, MaxDetailLength));
        if (outcome == "ok")
        {
            var written = new Pending(entry, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            return _buffer.Writer.TryWrite(written) ? written.Done!.Task : WriteAloneAsync(written);
        }

        if (!_buffer.Writer.TryWrite(new Pending(entry, null)))
        {
            Drop(entry);
        }

        return Task.CompletedTask;
    }

    /// <summary>Takes no more entries into the buffer and writes what it holds (when the coordinator's services are disposed, after its last request).</summary>
    public async ValueTask DisposeAsync()
    {
        _buffer.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    /// <summary>Entries, newest first.</summary>
    /// <exception cref="CohortApiException">A limit out of range (InvalidArgument).</exception>
    public async Task<IReadOnlyList<AuditEntry>> ListAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > AuditQuery.MaxLimit)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"ListAudit: limit: must be 1 to {AuditQuery.MaxLimit}, got {query.Limit}");
        }

        var flushed = new Pending(null, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await _buffer.Writer.WriteAsync(flushed, cancellationToken).ConfigureAwait(false);
            await flushed.Done!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // Stopping: what was buffered is being written; the read shows what is committed.
        }

        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command($"""
            SELECT id, {Columns} FROM audit
            WHERE (@before IS NULL OR id < @before) AND (@actor IS NULL OR actor = @actor) AND (@cohort IS NULL OR cohort = @cohort) AND (@project IS NULL OR project = @project)
            ORDER BY id DESC LIMIT @limit
            """).With("before", query.Before).With("actor", query.Actor).With("cohort", query.Cohort).With("project", query.Project).With("limit", (long)query.Limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var entries = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new AuditEntry(
                reader.Long("id"), reader.Time("time_ms"), reader.GetString(reader.GetOrdinal("actor")), reader.GetString(reader.GetOrdinal("actor_kind")),
                reader.NullableString("project"), reader.GetString(reader.GetOrdinal("action")), reader.NullableString("cohort"), reader.NullableString("run_id"),
                reader.NullableString("target"), reader.GetString(reader.GetOrdinal("outcome")), reader.NullableString("address"), reader.NullableString("detail")));
        }

        return entries;
    }

    private static string? Cut(string? text, int length) => text is null || text.Length <= length ? text : text[..length] + "...";

    private async Task RunAsync()
    {
        var batch = new List<Pending>(BatchSize);
        while (await _buffer.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < BatchSize && _buffer.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            await WriteAsync(batch).ConfigureAwait(false);
        }
    }

    /// <summary>An entry that must be written while the buffer is closed (the coordinator is stopping): on its own.</summary>
    private async Task WriteAloneAsync(Pending pending)
    {
        await WriteAsync([pending]).ConfigureAwait(false);
        await pending.Done!.Task.ConfigureAwait(false);
    }

    /// <summary>Writes the entries of <paramref name="batch"/> in one transaction, then releases every waiter in it (written or not: a failure is logged).</summary>
    private async Task WriteAsync(IReadOnlyList<Pending> batch)
    {
        try
        {
            if (batch.Any(p => p.Entry is not null))
            {
                await using var connection = await _database.OpenAsync(CancellationToken.None).ConfigureAwait(false);
                await using var transaction = await _database.BeginWriteAsync(connection, CancellationToken.None).ConfigureAwait(false);
                foreach (var entry in batch.Select(p => p.Entry).OfType<AuditEntry>())
                {
                    await using var insert = connection.Command($"INSERT INTO audit ({Columns}) VALUES (@time, @actor, @kind, @project, @action, @cohort, @run, @target, @outcome, @address, @detail)", transaction)
                        .With("time", entry.Time.ToUnixTimeMilliseconds()).With("actor", entry.Actor).With("kind", entry.ActorKind).With("project", entry.Project)
                        .With("action", entry.Action).With("cohort", entry.Cohort).With("run", entry.Run).With("target", entry.Target).With("outcome", entry.Outcome)
                        .With("address", entry.Address).With("detail", entry.Detail);
                    await insert.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }

                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is System.Data.Common.DbException or ObjectDisposedException)
        {
            foreach (var entry in batch.Select(p => p.Entry).OfType<AuditEntry>())
            {
                LogUnrecorded(_logger, entry.Actor, entry.Action, entry.Cohort, entry.Run, entry.Outcome, e.Message);
            }
        }
        finally
        {
            foreach (var pending in batch)
            {
                pending.Done?.TrySetResult();
            }
        }
    }

    private void Drop(AuditEntry entry)
    {
        var dropped = Interlocked.Increment(ref _dropped);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarning);
        if ((last == long.MinValue || _time.GetElapsedTime(last, now) >= DropWarningInterval) && Interlocked.CompareExchange(ref _lastWarning, now, last) == last)
        {
            LogDropped(_logger, Capacity, dropped, entry.Actor, entry.Action, entry.Outcome);
        }
    }

    /// <summary>An entry to write (<see cref="Entry"/>), or a marker (<see cref="Entry"/> null); <see cref="Done"/> set once written.</summary>
    private sealed record Pending(AuditEntry? Entry, TaskCompletionSource? Done);

    [LoggerMessage(Level = LogLevel.Error, Message = "the audit trail could not record that {Actor} did {Action} on cohort '{Cohort}' run '{Run}' ({Outcome}): {Reason}")]
    private static partial void LogUnrecorded(ILogger logger, string actor, string action, string? cohort, string? run, string outcome, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the audit trail has {Capacity} refusals waiting to be written: refusals beyond that are counted, not recorded ({Dropped} so far; the latest: {Actor} refused {Action}, {Outcome})")]
    private static partial void LogDropped(ILogger logger, int capacity, long dropped, string actor, string action, string outcome);
}
