using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Api.Storage;
using PeerDistill.Tests.Shared;

namespace PeerDistill.Api.Tests.Storage;

/// <summary>A fresh, empty database for one test: a SQLite file in a temporary directory, or a new database on the run's PostgreSQL server.</summary>
internal sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? _directory;

    private TestDatabase(DatabaseProvider provider, string connectionString, string? directory)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _directory = directory;
        Database = new StoreDatabase(provider, connectionString);
    }

    public DatabaseProvider Provider { get; }

    public string ConnectionString { get; }

    public StoreDatabase Database { get; }

    public static async Task<TestDatabase> CreateAsync(DatabaseProvider provider, string purpose)
    {
        if (provider == DatabaseProvider.Postgres)
        {
            return new TestDatabase(provider, await PostgresServer.CreateDatabaseAsync(purpose), null);
        }

        var directory = Path.Combine(Path.GetTempPath(), $"peerdistill-db-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var options = new DatabaseOptions { SqliteBusySeconds = 5 };
        return new TestDatabase(provider, options.EffectiveConnectionString(directory), directory);
    }

    /// <summary>A fresh database with the schema applied, and a store on it.</summary>
    public static async Task<(TestDatabase Db, RunStore Store)> MigratedAsync(DatabaseProvider provider, string purpose)
    {
        var db = await CreateAsync(provider, purpose);
        await db.Migrator().MigrateAsync();
        return (db, new RunStore(db.Database));
    }

    public DatabaseMigrator Migrator() => new(Database, NullLogger<DatabaseMigrator>.Instance);

    public async ValueTask DisposeAsync()
    {
        await Database.DisposeAsync();
        if (_directory is not null)
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
