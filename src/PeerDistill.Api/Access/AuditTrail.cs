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
/// project. Reads are for admins. A write that fails is logged (the action it records has happened).
/// </summary>
public sealed partial class AuditTrail(StoreDatabase database, TimeProvider time, ILogger<AuditTrail> logger)
{
    /// <summary>The longest detail kept, in characters.</summary>
    public const int MaxDetailLength = 1000;

    private const string Columns = "time_ms, actor, actor_kind, project, action, cohort, run_id, target, outcome, address, detail";

    /// <summary>Records that <paramref name="caller"/> did <paramref name="action"/>.</summary>
    public async Task RecordAsync(ApiCaller caller, string action, string outcome, string? cohort = null, string? run = null, string? target = null, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(caller);
        try
        {
            await using var connection = await database.OpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var transaction = await database.BeginWriteAsync(connection, CancellationToken.None).ConfigureAwait(false);
            await using (var insert = connection.Command($"INSERT INTO audit ({Columns}) VALUES (@time, @actor, @kind, @project, @action, @cohort, @run, @target, @outcome, @address, @detail)", transaction)
                .With("time", time.GetUtcNow().ToUnixTimeMilliseconds()).With("actor", caller.Name).With("kind", caller.Kind).With("project", caller.Project)
                .With("action", action).With("cohort", Cut(cohort, 200)).With("run", Cut(run, 200)).With("target", Cut(target, 200)).With("outcome", outcome)
                .With("address", caller.Address).With("detail", Cut(detail, MaxDetailLength)))
            {
                await insert.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }

            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (System.Data.Common.DbException e)
        {
            LogUnrecorded(logger, caller.Name, action, cohort, run, outcome, e.Message);
        }
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

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "the audit trail could not record that {Actor} did {Action} on cohort '{Cohort}' run '{Run}' ({Outcome}): {Reason}")]
    private static partial void LogUnrecorded(ILogger logger, string actor, string action, string? cohort, string? run, string outcome, string reason);
}
