using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace PeerDistill.Api.Storage;

/// <summary>
/// The coordinator's database: its engine and connection string, and the connections the store and
/// the migrator open on it (pooled). Writes go in transactions that take the write lock up front on
/// SQLite (BEGIN IMMEDIATE: one writer at a time, waiting up to the busy timeout), read-committed on
/// PostgreSQL.
/// </summary>
public sealed class StoreDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _postgres;

    /// <summary>A database of <paramref name="provider"/> at <paramref name="connectionString"/> (SQLite's gets foreign keys turned on).</summary>
    public StoreDatabase(DatabaseProvider provider, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        Provider = provider;
        if (provider == DatabaseProvider.Postgres)
        {
            ConnectionString = connectionString;
            _postgres = NpgsqlDataSource.Create(connectionString);
        }
        else
        {
            var builder = new SqliteConnectionStringBuilder(connectionString) { ForeignKeys = true };
            ConnectionString = builder.ConnectionString;
            SqliteFile = builder.DataSource;
        }
    }

    /// <summary>The engine.</summary>
    public DatabaseProvider Provider { get; }

    /// <summary>The connection string (a secret: never logged).</summary>
    public string ConnectionString { get; }

    /// <summary>SQLite only: the database file.</summary>
    internal string? SqliteFile { get; }

    /// <summary>The database of <paramref name="options"/>, SQLite's file in <paramref name="dataDirectory"/> unless the options name another.</summary>
    public static StoreDatabase Create(DatabaseOptions options, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new StoreDatabase(options.Provider, options.EffectiveConnectionString(dataDirectory));
    }

    /// <summary>An open connection (the caller disposes it).</summary>
    internal async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }

        var connection = new SqliteConnection(ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A write transaction on <paramref name="connection"/>: BEGIN IMMEDIATE on SQLite, read committed on PostgreSQL.</summary>
    internal async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        return connection is SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: false)
            : await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }
    }
}
