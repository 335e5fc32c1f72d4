using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace PeerDistill.Api.Storage;

/// <summary>
/// Brings the database's schema to this build's version at start-up: the embedded scripts of its
/// engine, in order, each in its own transaction with its row in <c>schema_version</c>. Safe when
/// several processes start at once (PostgreSQL: a session advisory lock held while migrating;
/// SQLite: each step under BEGIN IMMEDIATE, re-reading the version inside it). A database whose
/// schema is newer than the code is refused with <see cref="DatabaseSchemaException"/>.
/// </summary>
public sealed class DatabaseMigrator(StoreDatabase database, ILogger<DatabaseMigrator> logger)
{
    /// <summary>The PostgreSQL advisory lock key migrations hold (advisory locks are per database).</summary>
    public const long PostgresLockKey = 0x5044_4D69_6772; // "PDMigr"

    private const string CreateVersionTable = """
        CREATE TABLE IF NOT EXISTS schema_version
        (
            version integer NOT NULL PRIMARY KEY,
            name text NOT NULL,
            applied_ms bigint NOT NULL
        )
        """;

    /// <summary>The schema version this build brings a database to.</summary>
    public static int LatestVersion => Migration.For(DatabaseProvider.Sqlite).Count;

    /// <summary>Applies every migration the database lacks; returns the versions before and after.</summary>
    /// <exception cref="DatabaseSchemaException">The schema is newer than this build, or a migration failed (it is rolled back).</exception>
    public async Task<MigrationResult> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var migrations = Migration.For(database.Provider);
        if (database.SqliteFile is { Length: > 0 } file && file != ":memory:" && Path.GetDirectoryName(Path.GetFullPath(file)) is { } directory)
        {
            Directory.CreateDirectory(directory);
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection is SqliteConnection
            ? await MigrateSqliteAsync(connection, migrations, cancellationToken).ConfigureAwait(false)
            : await MigratePostgresAsync(connection, migrations, cancellationToken).ConfigureAwait(false);
    }

    private async Task<MigrationResult> MigrateSqliteAsync(DbConnection connection, IReadOnlyList<Migration> migrations, CancellationToken cancellationToken)
    {
        // Write-ahead logging lets readers (the API) go on while one writer writes; it is a property
        // of the file, so once is enough, but setting it again is harmless.
        await using (var wal = connection.Command("PRAGMA journal_mode = WAL"))
        {
            await wal.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        int? from = null;
        while (true)
        {
            await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
            var current = await CurrentVersionAsync(connection, transaction, migrations.Count, cancellationToken).ConfigureAwait(false);
            from ??= current;
            if (current == migrations.Count)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                StorageLog.SchemaCurrent(logger, database.Provider, current);
                return new MigrationResult(from.Value, current);
            }

            await ApplyAsync(connection, transaction, migrations[current], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<MigrationResult> MigratePostgresAsync(DbConnection connection, IReadOnlyList<Migration> migrations, CancellationToken cancellationToken)
    {
        await using (var command = connection.Command("SELECT pg_advisory_lock(@key)").With("key", PostgresLockKey))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await using (var create = connection.Command(CreateVersionTable))
            {
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var from = await CurrentVersionAsync(connection, null, migrations.Count, cancellationToken).ConfigureAwait(false);
            foreach (var migration in migrations.Skip(from))
            {
                await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
                await ApplyAsync(connection, transaction, migration, cancellationToken).ConfigureAwait(false);
            }

            StorageLog.SchemaCurrent(logger, database.Provider, migrations.Count);
            return new MigrationResult(from, migrations.Count);
        }
        finally
        {
            await using var unlock = connection.Command("SELECT pg_advisory_unlock(@key)").With("key", PostgresLockKey);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<int> CurrentVersionAsync(DbConnection connection, DbTransaction? transaction, int latest, CancellationToken cancellationToken)
    {
        if (transaction is not null)
        {
            await using var create = connection.Command(CreateVersionTable, transaction);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var command = connection.Command("SELECT COALESCE(MAX(version), 0) FROM schema_version", transaction);
        var current = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        if (current > latest)
        {
            throw new DatabaseSchemaException($"the {database.Provider} database's schema is at version {current}, newer than this build's {latest}: it was migrated by a newer PeerDistill; run that version (or a newer one), or give this one another database");
        }

        return current;
    }

    private async Task ApplyAsync(DbConnection connection, DbTransaction transaction, Migration migration, CancellationToken cancellationToken)
    {
        try
        {
            await using (var script = connection.Command(migration.Sql, transaction))
            {
                await script.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var record = connection.Command("INSERT INTO schema_version (version, name, applied_ms) VALUES (@version, @name, @applied)", transaction)
                .With("version", (long)migration.Version).With("name", migration.Name).With("applied", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))
            {
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbException e)
        {
            throw new DatabaseSchemaException($"{database.Provider} migration {migration.Version} ({migration.Name}) failed and was rolled back: {e.Message}", e);
        }

        StorageLog.MigrationApplied(logger, database.Provider, migration.Version, migration.Name);
    }
}
