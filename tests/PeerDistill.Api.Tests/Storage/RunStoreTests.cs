using PeerDistill.Api.Storage;
using Xunit;

namespace PeerDistill.Api.Tests.Storage;

public sealed class RunStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task InsertRun_ThenGet_ReturnsTheRowAsStored(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "insertget");
        await using var _ = db;
        var inserted = await store.InsertRunAsync(NewRun("mnist", "r1"));
        Assert.Equal(RunInsertOutcome.Created, inserted.Outcome);
        var row = await store.GetRunAsync(new RunKey("mnist", "r1"));
        Assert.Equal(inserted.Run, row);
        Assert.Equal(new RunRow("mnist", "r1", "pending", "peers: []", "yaml", T0, null, 1, 0), row);
        Assert.Null(await store.GetRunAsync(new RunKey("mnist", "r2")));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task InsertRun_SameIdempotencyKey_ReturnsTheEarlierRun(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "idempotent");
        await using var _ = db;
        var first = await store.InsertRunAsync(NewRun("mnist", "r1", key: "k-1", hash: "h1"));
        var retry = await store.InsertRunAsync(NewRun("mnist", "r2", key: "k-1", hash: "h1"));
        var other = await store.InsertRunAsync(NewRun("mnist", "r3", key: "k-1", hash: "h2"));
        var otherCohort = await store.InsertRunAsync(NewRun("cifar", "r4", key: "k-1", hash: "h1"));
        Assert.Equal(RunInsertOutcome.Created, first.Outcome);
        Assert.Equal((RunInsertOutcome.Replayed, "r1"), (retry.Outcome, retry.Run.Run));
        Assert.Equal((RunInsertOutcome.KeyReused, "r1"), (other.Outcome, other.Run.Run));
        Assert.Equal(RunInsertOutcome.Created, otherCohort.Outcome);
        Assert.Equal(["r1"], (await store.ListRunsAsync(new RunListQuery(Cohort: "mnist"))).Runs.Select(r => r.Run));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task InsertRun_EightConcurrentCreatesWithOneKey_OneRunCreated(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "idemrace");
        await using var _ = db;
        using var go = new ManualResetEventSlim();
        var creates = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            go.Wait();
            return await store.InsertRunAsync(NewRun("mnist", $"r{i}", key: "same", hash: "h"));
        })).ToList();
        go.Set();
        var results = await Task.WhenAll(creates);
        var created = Assert.Single(results, r => r.Outcome == RunInsertOutcome.Created);
        Assert.All(results, r => Assert.Equal(created.Run.Run, r.Run.Run));
        Assert.All(results.Where(r => r != created), r => Assert.Equal(RunInsertOutcome.Replayed, r.Outcome));
        Assert.Single((await store.ListRunsAsync(new RunListQuery())).Runs);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task InsertRun_IdTaken_RunExistsWithTheStoredRun(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "taken");
        await using var _ = db;
        await store.InsertRunAsync(NewRun("mnist", "r1"));
        var again = await store.InsertRunAsync(NewRun("mnist", "r1", spec: "other"));
        Assert.Equal(RunInsertOutcome.RunExists, again.Outcome);
        Assert.Equal("peers: []", again.Run.SpecText);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task ListRuns_CursorPages_NewestFirstFilteredWithoutOverlap(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "paging");
        await using var _ = db;
        for (var i = 1; i <= 7; i++)
        {
            await store.InsertRunAsync(NewRun(i % 2 == 0 ? "even" : "odd", $"r{i}"));
        }

        await store.UpdateRunStateAsync(new RunKey("odd", "r3"), "running", null);
        await store.UpdateRunStateAsync(new RunKey("even", "r4"), "running", null);

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await store.ListRunsAsync(new RunListQuery(Limit: 3, Cursor: cursor));
            Assert.InRange(page.Runs.Count, 1, 3);
            seen.AddRange(page.Runs.Select(r => r.Run));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);
        Assert.Equal(3, pages);
        Assert.Equal(["r7", "r6", "r5", "r4", "r3", "r2", "r1"], seen);

        var odd = await store.ListRunsAsync(new RunListQuery(Cohort: "odd", Limit: 2));
        Assert.Equal(["r7", "r5"], odd.Runs.Select(r => r.Run));
        var oddRest = await store.ListRunsAsync(new RunListQuery(Cohort: "odd", Limit: 2, Cursor: odd.NextCursor));
        Assert.Equal(["r3", "r1"], oddRest.Runs.Select(r => r.Run));
        Assert.Null(oddRest.NextCursor);
        Assert.Equal(["r4", "r3"], (await store.ListRunsAsync(new RunListQuery(States: ["running"]))).Runs.Select(r => r.Run));
        Assert.Equal(["r3"], (await store.ListRunsAsync(new RunListQuery(States: ["running", "failed"], Cohort: "odd"))).Runs.Select(r => r.Run));
        Assert.Equal(7, (await store.ListRunsAsync(new RunListQuery(Limit: 7))).Runs.Count);
        Assert.Null((await store.ListRunsAsync(new RunListQuery(Limit: 7))).NextCursor);
    }

    [Theory]
    [InlineData("not-a-cursor")]
    [InlineData("cjEuMA")]
    [InlineData("")]
    public async Task ListRuns_ForeignCursor_ArgumentException(string cursor)
    {
        var (db, store) = await TestDatabase.MigratedAsync(DatabaseProvider.Sqlite, "cursor");
        await using var _ = db;
        var e = await Assert.ThrowsAsync<ArgumentException>(() => store.ListRunsAsync(new RunListQuery(Cursor: cursor)));
        Assert.Contains("cursor", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task UpdateRunState_StaleVersion_ConflictAndNothingChanged(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "version");
        await using var _ = db;
        var key = new RunKey("mnist", "r1");
        await store.InsertRunAsync(NewRun("mnist", "r1"));
        var first = await store.UpdateRunStateAsync(key, "running", expectedVersion: 1);
        Assert.Equal(RunUpdateOutcome.Updated, first.Outcome);
        Assert.Equal(("running", 2L), (first.Run!.State, first.Run.Version));

        var stale = await store.UpdateRunStateAsync(key, "cancelled", expectedVersion: 1, finished: T0.AddHours(1));
        Assert.Equal(RunUpdateOutcome.VersionConflict, stale.Outcome);
        Assert.Equal(("running", 2L, (DateTimeOffset?)null), (stale.Run!.State, stale.Run.Version, stale.Run.Finished));

        var unconditional = await store.UpdateRunStateAsync(key, "completed", expectedVersion: null, finished: T0.AddHours(2));
        Assert.Equal(("completed", 3L, (DateTimeOffset?)T0.AddHours(2)), (unconditional.Run!.State, unconditional.Run.Version, unconditional.Run.Finished));
        Assert.Equal(unconditional.Run, await store.GetRunAsync(key));
        Assert.Equal(new RunUpdateResult(RunUpdateOutcome.NotFound, null), await store.UpdateRunStateAsync(new RunKey("mnist", "nope"), "running", 1));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task AppendEvents_FromFourWritersAtOnce_IdsOneToNWithoutGapsOrRepeats(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "events");
        await using var _ = db;
        var key = new RunKey("mnist", "r1");
        await store.InsertRunAsync(NewRun("mnist", "r1"));
        var first = await store.AppendEventsAsync(key, [new NewEvent("submitted", "accepted", T0), new NewEvent("placed", "on w1", T0, "a", 0)]);
        Assert.Equal([1L, 2L], first.Select(e => e.Id));

        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                await store.AppendEventsAsync(key, [new NewEvent("step", $"w{w} e{i}", T0.AddSeconds(i), $"p{w}", i)]);
            }
        }));
        await Task.WhenAll(writers);

        var all = await store.ReadEventsAsync(key, afterId: 0, limit: 1000);
        Assert.Equal(Enumerable.Range(1, 42).Select(i => (long)i), all.Select(e => e.Id));
        Assert.Equal(first[1], all[1]);
        foreach (var w in Enumerable.Range(0, 4))
        {
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"w{w} e{i}"), all.Where(e => e.Peer == $"p{w}").Select(e => e.Message));
        }

        Assert.Equal([41L, 42L], (await store.ReadEventsAsync(key, afterId: 40, limit: 10)).Select(e => e.Id));
        Assert.Equal([3L, 4L], (await store.ReadEventsAsync(key, afterId: 2, limit: 2)).Select(e => e.Id));
        Assert.Equal(42, (await store.GetRunAsync(key))!.LastEventId);
        await Assert.ThrowsAsync<RunNotFoundException>(() => store.AppendEventsAsync(new RunKey("mnist", "nope"), [new NewEvent("x", "y", T0)]));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task UpsertPeers_SecondWrite_ReplacesOnlyThosePeers(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "peers");
        await using var _ = db;
        var key = new RunKey("mnist", "r1");
        await store.InsertRunAsync(NewRun("mnist", "r1"));
        var b = new PeerRow("b", "pending", "cpu", null, null, 0, 0, 100, null, null, T0);
        var a = new PeerRow("a", "pending", "cuda:0", null, null, 0, 0, 100, null, null, T0);
        await store.UpsertPeersAsync(key, [b, a]);
        var a2 = a with { State = "running", Worker = "w1", Silo = "S127.0.0.1:11112:1", Generation = 2, Step = 40, Loss = 0.5, Accuracy = 0.75, Updated = T0.AddMinutes(1) };
        await store.UpsertPeersAsync(key, [a2]);
        Assert.Equal([a2, b], await store.GetPeersAsync(key));
        Assert.Empty(await store.GetPeersAsync(new RunKey("mnist", "nope")));
        await Assert.ThrowsAsync<RunNotFoundException>(() => store.UpsertPeersAsync(new RunKey("mnist", "nope"), [a]));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task PendingChangesAndCheckpoints_ReadBackInOrder(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "changes");
        await using var _ = db;
        var key = new RunKey("mnist", "r1");
        await store.InsertRunAsync(NewRun("mnist", "r1"));
        var late = await store.AddPendingChangeAsync(key, 50, """{"alpha":0.3}""", T0);
        var early = await store.AddPendingChangeAsync(key, 20, """{"temperature":2}""", T0.AddSeconds(1));
        var sameStep = await store.AddPendingChangeAsync(key, 50, """{"lr_scale":0.5}""", T0.AddSeconds(2));
        Assert.Equal([early, late, sameStep], await store.GetPendingChangesAsync(key));
        Assert.True(sameStep.Id > late.Id);

        await store.AddCheckpointAsync(key, new CheckpointRow("b", 10, "/ckpt/b-10.pt", 100, T0));
        await store.AddCheckpointAsync(key, new CheckpointRow("a", 20, "/ckpt/a-20.pt", 200, T0));
        await store.AddCheckpointAsync(key, new CheckpointRow("a", 10, "/ckpt/a-10.pt", 300, T0));
        await store.AddCheckpointAsync(key, new CheckpointRow("a", 10, "/ckpt/a-10b.pt", 301, T0.AddSeconds(5)));
        Assert.Equal(["a/10//ckpt/a-10b.pt/301", "a/20//ckpt/a-20.pt/200", "b/10//ckpt/b-10.pt/100"],
            (await store.ListCheckpointsAsync(key)).Select(c => $"{c.Peer}/{c.Step}/{c.Path}/{c.SizeBytes}"));
        Assert.Equal([10L], (await store.ListCheckpointsAsync(key, "b")).Select(c => c.Step));
        await Assert.ThrowsAsync<RunNotFoundException>(() => store.AddPendingChangeAsync(new RunKey("x", "y"), 1, "{}", T0));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task DeleteRun_RemovesEverythingOfIt_AndOnlyIt(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "delete");
        await using var _ = db;
        var key = new RunKey("mnist", "r1");
        var kept = new RunKey("mnist", "r2");
        foreach (var run in new[] { key, kept })
        {
            await store.InsertRunAsync(NewRun(run.Cohort, run.Run, key: $"k-{run.Run}", hash: "h"));
            await store.UpsertPeersAsync(run, [new PeerRow("a", "running", "cpu", "w", "s", 1, 1, 10, 1, null, T0)]);
            await store.AppendEventsAsync(run, [new NewEvent("submitted", "x", T0)]);
            await store.AddPendingChangeAsync(run, 5, "{}", T0);
            await store.AddCheckpointAsync(run, new CheckpointRow("a", 1, "p", 1, T0));
            await store.InsertMetricsAsync([new MetricSample(run, new MetricRow("a", 1, T0, Loss: 1))]);
        }

        Assert.True(await store.DeleteRunAsync(key));
        Assert.False(await store.DeleteRunAsync(key));
        Assert.Null(await store.GetRunAsync(key));
        foreach (var table in new[] { "peers", "events", "pending_changes", "checkpoints", "metrics", "idempotency_keys" })
        {
            Assert.Equal([1L], await MigrationTests.ColumnAsync<long>(db, $"SELECT COUNT(*) FROM {table}"));
        }

        // The key and the id are free again, and nothing of the old run shows through.
        var again = await store.InsertRunAsync(NewRun("mnist", "r1", key: "k-r1", hash: "h"));
        Assert.Equal(RunInsertOutcome.Created, again.Outcome);
        Assert.Empty(await store.ReadEventsAsync(key, 0, 10));
        Assert.Empty(await store.QueryMetricsAsync(key, new MetricsQuery()));
        Assert.Single(await store.ReadEventsAsync(kept, 0, 10));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task InsertMetrics_SentTwiceAndEvalAtSameStep_OneRowPerStepWithBoth(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "metrics");
        await using var _ = db;
        var key = new RunKey("mnist", "r1");
        await store.InsertRunAsync(NewRun("mnist", "r1"));
        var batch = Enumerable.Range(0, 50).Select(s => new MetricSample(key, new MetricRow("a", s, T0.AddSeconds(s), Loss: 2.0 - (s / 4.0), CrossEntropy: 1.5, Distillation: 0.5, Hint: null, LearningRate: 0.1, SamplesPerSecond: 1000))).ToList();
        Assert.Equal(50, await store.InsertMetricsAsync(batch));
        Assert.Equal(50, await store.InsertMetricsAsync(batch));
        var changed = new MetricSample(key, new MetricRow("a", 10, T0, Loss: 99, Accuracy: 0.9, EvalLoss: 0.4));
        var unknownRun = new MetricSample(new RunKey("mnist", "nope"), new MetricRow("a", 1, T0, Loss: 1));
        var nan = new MetricSample(key, new MetricRow("a", 60, T0, Loss: double.NaN, Accuracy: double.PositiveInfinity));
        Assert.Equal(2, await store.InsertMetricsAsync([changed, unknownRun, nan]));

        var rows = await store.QueryMetricsAsync(key, new MetricsQuery());
        Assert.Equal(51, rows.Count);
        Assert.Equal(Enumerable.Range(0, 50).Select(s => (long)s).Append(60), rows.Select(r => r.Step));
        var step10 = rows.Single(r => r.Step == 10);
        Assert.Equal(new MetricRow("a", 10, T0.AddSeconds(10), -0.5, 1.5, 0.5, null, 0.1, 1000, 0.9, 0.4), step10);
        Assert.Equal(new MetricRow("a", 60, T0), rows[^1]);
        Assert.Equal([51L], await MigrationTests.ColumnAsync<long>(db, "SELECT COUNT(*) FROM metrics"));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task QueryMetrics_FiltersAndDownsampling_EveryKthRowPerPeer(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "downsample");
        await using var _ = db;
        var key = new RunKey("mnist", "r1");
        await store.InsertRunAsync(NewRun("mnist", "r1"));
        var rows = new[] { "a", "b", "c" }.SelectMany(p => Enumerable.Range(0, 100).Select(s => new MetricSample(key, new MetricRow(p, s, T0, Loss: s)))).ToList();
        Assert.Equal(300, await store.InsertMetricsAsync(rows));

        // n = 100, N = 10: k = ceil(99 / 9) = 11: steps 0, 11, ..., 99 (10 rows).
        var thinned = await store.QueryMetricsAsync(key, new MetricsQuery(Peers: ["a", "c"], MaxPointsPerPeer: 10));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => ("a", i * 11L)).Concat(Enumerable.Range(0, 10).Select(i => ("c", i * 11L))), thinned.Select(r => (r.Peer, r.Step)));

        // Steps 20..49 (n = 30), N = 4: k = ceil(29 / 3) = 10: 20, 30, 40.
        var ranged = await store.QueryMetricsAsync(key, new MetricsQuery(Peers: ["b"], FromStep: 20, ToStep: 49, MaxPointsPerPeer: 4));
        Assert.Equal([20L, 30L, 40L], ranged.Select(r => r.Step));
        Assert.Equal([0L], (await store.QueryMetricsAsync(key, new MetricsQuery(Peers: ["b"], MaxPointsPerPeer: 1))).Select(r => r.Step));
        Assert.Equal([0L, 99L], (await store.QueryMetricsAsync(key, new MetricsQuery(Peers: ["b"], MaxPointsPerPeer: 2))).Select(r => r.Step));
        Assert.Equal(30, (await store.QueryMetricsAsync(key, new MetricsQuery(Peers: ["b"], FromStep: 20, ToStep: 49, MaxPointsPerPeer: 30))).Count);
        Assert.Equal(300, (await store.QueryMetricsAsync(key, new MetricsQuery())).Count);
        await Assert.ThrowsAsync<ArgumentException>(() => store.QueryMetricsAsync(key, new MetricsQuery(MaxPointsPerPeer: 0)));
    }

    private static NewRun NewRun(string cohort, string run, string? key = null, string? hash = null, string spec = "peers: []")
        => new(cohort, run, "pending", spec, "yaml", T0, key, hash);
}
