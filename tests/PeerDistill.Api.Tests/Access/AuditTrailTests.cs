using Microsoft.Extensions.Logging.Abstractions;
using PeerDistill.Api.Access;
using PeerDistill.Api.Storage;
using PeerDistill.Api.Tests.Storage;
using Xunit;

namespace PeerDistill.Api.Tests.Access;

public sealed class AuditTrailTests
{
    private static readonly ApiCaller Alice = new("alice", "token", ApiRole.Operator, "a", "10.0.0.7");

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task AChange_IsCommittedBeforeItsRecordCompletes_ARefusalIsReadAfterIt(DatabaseProvider provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider, "auditorder");
        await db.Migrator().MigrateAsync();
        await using var audit = new AuditTrail(db.Database, TimeProvider.System, NullLogger<AuditTrail>.Instance);

        await audit.RecordAsync(Alice, "Submit", "ok", cohort: "pair", run: "r1");
        // Counted on a connection of its own, not through the trail (whose reads wait for its writes).
        Assert.Equal(1, await CountAsync(db.Database));

        await audit.RecordAsync(Alice, "CancelRun", "denied", cohort: "pair", run: "r1", detail: new string('x', 5000));
        var entries = await audit.ListAsync(new AuditQuery(), CancellationToken.None);
        Assert.Equal(["CancelRun", "Submit"], entries.Select(e => e.Action));
        var refused = entries[0];
        Assert.Equal(("alice", "token", "a", "denied", "pair", "r1", "10.0.0.7"), (refused.Actor, refused.ActorKind, refused.Project, refused.Outcome, refused.Cohort, refused.Run, refused.Address));
        Assert.Equal(AuditTrail.MaxDetailLength + 3, refused.Detail!.Length);
    }

    [Fact]
    public async Task WhileAnotherWriterHoldsTheDatabase_RefusalsAreRecordedWithoutWaiting_TheOverflowCounted_TheRestWrittenAfter()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite, "auditheld");
        await db.Migrator().MigrateAsync();
        await using var audit = new AuditTrail(db.Database, TimeProvider.System, NullLogger<AuditTrail>.Instance);

        // Another writer holds SQLite's write lock: the trail's loop waits on it (up to the busy timeout).
        await using (var holder = await db.Database.OpenAsync(CancellationToken.None))
        {
            await using var held = await db.Database.BeginWriteAsync(holder, CancellationToken.None);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (var i = 0; i < AuditTrail.Capacity + AuditTrail.BatchSize + 10; i++)
            {
                Assert.True(audit.RecordAsync(Alice, "GetRun", "denied").IsCompleted, $"refusal {i} waited for the database");
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"recording the refusals took {clock.Elapsed} while the database was held");
            Assert.InRange(audit.Dropped, 10, AuditTrail.BatchSize + 10);
            await held.RollbackAsync();
        }

        // Reading waits for every entry recorded before the read.
        Assert.Single(await audit.ListAsync(new AuditQuery(Limit: 1), CancellationToken.None));
        Assert.Equal(AuditTrail.Capacity + AuditTrail.BatchSize + 10 - audit.Dropped, await CountAsync(db.Database));
    }

    [Fact]
    public async Task Disposing_WritesWhatIsBuffered()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite, "auditdispose");
        await db.Migrator().MigrateAsync();
        var audit = new AuditTrail(db.Database, TimeProvider.System, NullLogger<AuditTrail>.Instance);
        for (var i = 0; i < 1000; i++)
        {
            _ = audit.RecordAsync(Alice, "GetRun", "not_found", cohort: $"c{i}");
        }

        await audit.DisposeAsync();
        Assert.Equal(1000, await CountAsync(db.Database));
        // After it is disposed, a change is still recorded (on its own), and a read shows what is committed.
        await audit.RecordAsync(Alice, "Submit", "ok", cohort: "late");
        Assert.Equal(1001, await CountAsync(db.Database));
    }

    private static async Task<long> CountAsync(StoreDatabase database)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT COUNT(*) FROM audit");
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
