using System.Data.Common;
using PeerDistill.Api.Storage;
using Xunit;

namespace PeerDistill.Api.Tests.Storage;

public sealed class MigrationTests
{
    private static readonly string[] StorageKeys = ["ClearStorageKey", "DeleteStorageKey", "ReadFromStorageKey", "WriteToStorageKey"];

    private static readonly string[] MembershipKeys =
    [
        "CleanupDefunctSiloEntriesKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey", "InsertMembershipKey", "InsertMembershipVersionKey",
        "MembershipReadAllKey", "MembershipReadRowKey", "UpdateIAmAlivetimeKey", "UpdateMembershipKey",
    ];

    [Fact]
    public void Migrations_SameVersionsAndNamesOnBothEngines()
    {
        var sqlite = Migration.For(DatabaseProvider.Sqlite).Select(m => (m.Version, m.Name));
        var postgres = Migration.For(DatabaseProvider.Postgres).Select(m => (m.Version, m.Name));
        Assert.Equal(sqlite, postgres);
        Assert.Equal(3, DatabaseMigrator.LatestVersion);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task Migrate_EmptyDatabase_AppliesEveryVersionAndOrleansQueries(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider, "fromempty");
        var result = await db.Migrator().MigrateAsync();
        Assert.Equal(new MigrationResult(0, DatabaseMigrator.LatestVersion), result);
        Assert.Equal(Enumerable.Range(1, DatabaseMigrator.LatestVersion).Select(v => (long)v), await ColumnAsync<long>(db, "SELECT version FROM schema_version ORDER BY version"));
        var keys = await ColumnAsync<string>(db, "SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey");
        var expected = provider == DatabaseProvider.Postgres ? StorageKeys.Concat(MembershipKeys) : StorageKeys;
        Assert.Equal(expected.Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task Migrate_Twice_SecondAppliesNothing(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider, "twice");
        Assert.True((await db.Migrator().MigrateAsync()).Applied);
        var second = await db.Migrator().MigrateAsync();
        Assert.False(second.Applied);
        Assert.Equal(DatabaseMigrator.LatestVersion, second.FromVersion);
        Assert.Equal(DatabaseMigrator.LatestVersion, (await ColumnAsync<long>(db, "SELECT version FROM schema_version")).Count);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task Migrate_FourProcessesAtOnce_EachSucceedsAndEveryVersionAppliedOnce(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider, "concurrent");

        // Separate databases objects: separate connection pools, as separate processes would have.
        var others = Enumerable.Range(0, 4).Select(_ => new StoreDatabase(provider, db.ConnectionString)).ToList();
        try
        {
            using var go = new ManualResetEventSlim();
            var runs = others.Select(o => Task.Run(async () =>
            {
                go.Wait();
                return await new DatabaseMigrator(o, Microsoft.Extensions.Logging.Abstractions.NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
            })).ToList();
            go.Set();
            var results = await Task.WhenAll(runs);
            Assert.All(results, r => Assert.Equal(DatabaseMigrator.LatestVersion, r.ToVersion));
            Assert.Contains(results, r => r.FromVersion == 0);
            Assert.Equal(Enumerable.Range(1, DatabaseMigrator.LatestVersion).Select(v => (long)v), await ColumnAsync<long>(db, "SELECT version FROM schema_version ORDER BY version"));
        }
        finally
        {
            foreach (var other in others)
            {
                await other.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task Migrate_SchemaNewerThanCode_RefusesWithVersions(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider, "newer");
        await db.Migrator().MigrateAsync();
        var newer = DatabaseMigrator.LatestVersion + 1;
        await ExecuteAsync(db, $"INSERT INTO schema_version (version, name, applied_ms) VALUES ({newer}, 'from_the_future', 0)");
        var e = await Assert.ThrowsAsync<DatabaseSchemaException>(() => db.Migrator().MigrateAsync());
        Assert.Contains($"version {newer}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"newer than this build's {DatabaseMigrator.LatestVersion}", e.Message, StringComparison.Ordinal);
    }

    internal static async Task ExecuteAsync(TestDatabase db, string sql)
    {
        await using var connection = await db.Database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command(sql);
        await command.ExecuteNonQueryAsync();
    }

    internal static async Task<List<T>> ColumnAsync<T>(TestDatabase db, string sql)
    {
        await using var connection = await db.Database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command(sql);
        await using DbDataReader reader = await command.ExecuteReaderAsync();
        var values = new List<T>();
        while (await reader.ReadAsync())
        {
            values.Add((T)Convert.ChangeType(reader.GetValue(0), typeof(T), System.Globalization.CultureInfo.InvariantCulture));
        }

        return values;
    }
}
