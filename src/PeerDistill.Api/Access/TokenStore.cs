using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using PeerDistill.Api.Storage;

namespace PeerDistill.Api.Access;

/// <summary>An API token as the API shows it: never its secret.</summary>
/// <param name="Id">The token's public id (the 16 hex digits after <c>pd_</c>).</param>
/// <param name="Name">Its unique name (who acted, in the audit trail).</param>
/// <param name="Role">What it may do.</param>
/// <param name="Project">The project it is confined to; null for every project.</param>
/// <param name="Created">When it was made.</param>
/// <param name="CreatedBy">Who made it.</param>
/// <param name="Expires">When it stops working; null: never.</param>
/// <param name="Revoked">When it was revoked; null while it is not.</param>
public sealed record ApiTokenInfo(string Id, string Name, ApiRole Role, string? Project, DateTimeOffset Created, string CreatedBy, DateTimeOffset? Expires, DateTimeOffset? Revoked);

/// <summary>A token to make.</summary>
public sealed record NewApiToken(string Name, ApiRole Role, string? Project, DateTimeOffset? Expires);

/// <summary>How a presented token fared.</summary>
public enum TokenCheck
{
    Valid,

    /// <summary>Not shaped like a token.</summary>
    Malformed,

    /// <summary>No token with that id and secret (the two are not told apart).</summary>
    Unknown,

    Expired,
    Revoked,
}

/// <summary>
/// The API tokens, in the coordinator's database (table <c>api_tokens</c>): made, listed, revoked, and
/// checked on every request. A checked token's row is kept in memory for <see cref="CacheLifetime"/>,
/// so that a busy client costs one HMAC per request, not a query; revoking through this coordinator
/// takes effect at once.
/// </summary>
public sealed class TokenStore(StoreDatabase database, TimeProvider time)
{
    /// <summary>How long a token's row is used from memory before it is read again.</summary>
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(5);

    /// <summary>The longest token name and project, in characters.</summary>
    public const int MaxNameLength = 64;

    private const string Columns = "id, name, role, project, salt, hash, created_ms, created_by, expires_ms, revoked_ms";

    private readonly ConcurrentDictionary<string, (Row? Row, long ReadAt)> _cache = new(StringComparer.Ordinal);

    /// <summary>Makes a token; the token text is returned once and kept nowhere.</summary>
    /// <exception cref="CohortApiException">A wrong name, project or expiry (InvalidArgument), or a name in use (AlreadyExists).</exception>
    public Task<(ApiTokenInfo Info, string Token)> CreateAsync(NewApiToken token, string createdBy, CancellationToken cancellationToken) =>
        CreateAsync(token, createdBy, ApiTokenFormat.Create(), cancellationToken);

    /// <summary>Keeps <paramref name="made"/> (a token made elsewhere, <see cref="ApiTokenFormat.Of"/>) as the token <paramref name="token"/> describes.</summary>
    /// <exception cref="CohortApiException">As <see cref="CreateAsync(NewApiToken, string, CancellationToken)"/>; AlreadyExists also for a token id in use.</exception>
    public async Task<(ApiTokenInfo Info, string Token)> CreateAsync(NewApiToken token, string createdBy, (string Id, string Token, string Salt, string Hash) made, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        CheckName("name", token.Name);
        if (token.Project is not null)
        {
            CheckName("project", token.Project);
        }

        var now = time.GetUtcNow();
        if (token.Expires is { } expires && expires <= now)
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"CreateToken: expires: {expires:O} has passed; give a time in the future (or none: the token does not expire)");
        }

        var (id, text, salt, hash) = made;
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await using (var insert = connection.Command($"""
            INSERT INTO api_tokens ({Columns})
            VALUES (@id, @name, @role, @project, @salt, @hash, @created, @by, @expires, NULL)
            ON CONFLICT (name) DO NOTHING
            """, transaction)
            .With("id", id).With("name", token.Name).With("role", ApiRoles.Name(token.Role)).With("project", token.Project)
            .With("salt", salt).With("hash", hash).With("created", now.ToUnixTimeMilliseconds()).With("by", createdBy)
            .With("expires", token.Expires?.ToUnixTimeMilliseconds()))
        {
            if (await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new CohortApiException(ApiError.AlreadyExists, $"CreateToken: a token named '{token.Name}' exists; names are unique (revoked tokens keep theirs): choose another");
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (new ApiTokenInfo(id, token.Name, token.Role, token.Project, Truncate(now), createdBy, token.Expires is { } e ? Truncate(e) : null, null), text);
    }

    /// <summary>Every token (revoked ones too), oldest first; of one project, or of all with null.</summary>
    public async Task<IReadOnlyList<ApiTokenInfo>> ListAsync(string? project, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command($"SELECT {Columns} FROM api_tokens WHERE @project IS NULL OR project = @project ORDER BY created_ms, name").With("project", project);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var tokens = new List<ApiTokenInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            tokens.Add(Read(reader).Info);
        }

        return tokens;
    }

    /// <summary>Whether any token was ever made (revoked and expired ones count: a coordinator whose tokens were all revoked makes no new one by itself).</summary>
    public async Task<bool> AnyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT COUNT(*) FROM api_tokens");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>Revokes the token named (or with the id) <paramref name="nameOrId"/>, within <paramref name="project"/> when not null; the token after.</summary>
    /// <exception cref="CohortApiException">No such token (NotFound).</exception>
    public async Task<ApiTokenInfo> RevokeAsync(string nameOrId, string? project, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrId);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        Row? row = null;
        await using (var select = connection.Command($"SELECT {Columns} FROM api_tokens WHERE (name = @key OR id = @key) AND (@project IS NULL OR project = @project)", transaction)
            .With("key", nameOrId).With("project", project))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                row = Read(reader);
            }
        }

        if (row is null)
        {
            throw new CohortApiException(ApiError.NotFound, $"RevokeToken: no token named '{CohortApi.Echo(nameOrId)}'" + (project is null ? string.Empty : $" in project '{project}'"));
        }

        if (row.Info.Revoked is null)
        {
            await using var update = connection.Command("UPDATE api_tokens SET revoked_ms = @now WHERE id = @id AND revoked_ms IS NULL", transaction).With("now", now).With("id", row.Info.Id);
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            row = row with { Info = row.Info with { Revoked = DateTimeOffset.FromUnixTimeMilliseconds(now) } };
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(row.Info.Id, out _);
        return row.Info;
    }

    /// <summary>Checks a presented token: its info when it works, and otherwise why not.</summary>
    public async Task<(TokenCheck Check, ApiTokenInfo? Info)> CheckAsync(string presented, CancellationToken cancellationToken)
    {
        if (ApiTokenFormat.Parse(presented) is not { } parsed)
        {
            return (TokenCheck.Malformed, null);
        }

        var row = await FindAsync(parsed.Id, cancellationToken).ConfigureAwait(false);
        if (row is null || !ApiTokenFormat.Matches(parsed.Secret, row.Salt, row.Hash))
        {
            return (TokenCheck.Unknown, null);
        }

        return Status(row.Info);
    }

    /// <summary>
    /// Checks a token already proven by its secret, by its id alone (a dashboard session an API token
    /// opened): whether it still works (not revoked, not expired), and its info.
    /// </summary>
    public async Task<(TokenCheck Check, ApiTokenInfo? Info)> CheckIdAsync(string id, CancellationToken cancellationToken)
    {
        var row = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        return row is null ? (TokenCheck.Unknown, null) : Status(row.Info);
    }

    private (TokenCheck Check, ApiTokenInfo Info) Status(ApiTokenInfo info)
    {
        if (info.Revoked is not null)
        {
            return (TokenCheck.Revoked, info);
        }

        return info.Expires is { } expires && expires <= time.GetUtcNow() ? (TokenCheck.Expired, info) : (TokenCheck.Valid, info);
    }

    private async Task<Row?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (_cache.TryGetValue(id, out var cached) && time.GetElapsedTime(cached.ReadAt, now) < CacheLifetime)
        {
            return cached.Row;
        }

        Row? row = null;
        await using (var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false))
        await using (var command = connection.Command($"SELECT {Columns} FROM api_tokens WHERE id = @id").With("id", id))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                row = Read(reader);
            }
        }

        // Unknown ids are cached too (a client retrying a wrong token costs no query each time), but
        // the cache holds at most a bounded number of them.
        if (row is not null || _cache.Count < 10_000)
        {
            _cache[id] = (row, now);
        }

        return row;
    }

    private static void CheckName(string field, string value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxNameLength || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new CohortApiException(ApiError.InvalidArgument, $"CreateToken: {field}: must be 1 to {MaxNameLength} characters of letters, digits, '-', '_' and '.', got '{CohortApi.Echo(value ?? string.Empty)}'");
        }
    }

    private static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());

    private static Row Read(DbDataReader reader) => new(
        new ApiTokenInfo(
            reader.GetString(reader.GetOrdinal("id")),
            reader.GetString(reader.GetOrdinal("name")),
            ApiRoles.Parse(reader.GetString(reader.GetOrdinal("role"))) ?? throw new InvalidOperationException("a token row holds a role that is not reader, operator or admin"),
            reader.NullableString("project"),
            reader.Time("created_ms"),
            reader.GetString(reader.GetOrdinal("created_by")),
            reader.NullableTime("expires_ms"),
            reader.NullableTime("revoked_ms")),
        reader.GetString(reader.GetOrdinal("salt")),
        reader.GetString(reader.GetOrdinal("hash")));

    private sealed record Row(ApiTokenInfo Info, string Salt, string Hash);
}
