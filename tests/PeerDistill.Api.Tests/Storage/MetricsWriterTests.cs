using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using PeerDistill.Api.Storage;
using Xunit;

namespace PeerDistill.Api.Tests.Storage;

public sealed class MetricsWriterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly RunKey Run = new("mnist", "r1");

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [PostgresData]
    public async Task TryAdd_DatabaseStalled_NeverBlocksAndCountsDrops_ThenWritesTheRest(DatabaseProvider provider)
    {
        var (db, store) = await TestDatabase.MigratedAsync(provider, "stalled");
        await using var _ = db;
        await store.InsertRunAsync(new NewRun(Run.Cohort, Run.Run, "running", "peers: []", "yaml", T0));
        var options = new MetricsWriterOptions { Capacity = 100, BatchSize = 10, RetryDelayMilliseconds = 50, MaxAttempts = 1000 };
        await using var writer = new MetricsWriter(store, options, TimeProvider.System, NullLogger<MetricsWriter>.Instance);

        // The database stalls: another connection holds the lock every metrics write needs.
        await using var holder = await db.Database.OpenAsync(CancellationToken.None);
        await using (var lockCommand = holder.Command(provider == DatabaseProvider.Sqlite ? "BEGIN EXCLUSIVE" : "BEGIN; LOCK TABLE metrics IN ACCESS EXCLUSIVE MODE"))
        {
            await lockCommand.ExecuteNonQueryAsync();
        }

        await writer.StartAsync(CancellationToken.None);
        const int Offered = 2000;
        var clock = Stopwatch.StartNew();
        var accepted = 0;
        for (var step = 0; step < Offered; step++)
        {
            accepted += writer.TryAdd(new MetricSample(Run, new MetricRow("a", step, T0, Loss: step))) ? 1 : 0;
        }

        clock.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"offering {Offered} rows to a stalled writer took {clock.Elapsed}");

        // At most the buffer and the one batch the loop holds get in; every other row is counted.
        Assert.InRange(accepted, options.Capacity, options.Capacity + options.BatchSize);
        Assert.Equal(Offered - accepted, writer.Dropped);
        Assert.Equal(0, writer.Written);

        await using (var release = holder.Command(provider == DatabaseProvider.Sqlite ? "ROLLBACK" : "ROLLBACK"))
        {
            await release.ExecuteNonQueryAsync();
        }

        var deadline = Stopwatch.StartNew();
        while (writer.Written < accepted && deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(20);
        }

        Assert.Equal(accepted, writer.Written);
        Assert.Equal([(long)accepted], await MigrationTests.ColumnAsync<long>(db, "SELECT COUNT(*) FROM metrics"));
        Assert.Equal(Offered - accepted, writer.Dropped);
    }

    [Fact]
    public async Task Stop_WithRowsBuffered_WritesThemAll()
    {
        var (db, store) = await TestDatabase.MigratedAsync(DatabaseProvider.Sqlite, "drain");
        await using var _ = db;
        await store.InsertRunAsync(new NewRun(Run.Cohort, Run.Run, "running", "peers: []", "yaml", T0));
        var writer = new MetricsWriter(store, new MetricsWriterOptions { Capacity = 5000, BatchSize = 64 }, TimeProvider.System, NullLogger<MetricsWriter>.Instance);
        for (var step = 0; step < 1000; step++)
        {
            Assert.True(writer.TryAdd(new MetricSample(Run, new MetricRow("a", step, T0, Loss: step))));
        }

        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal((1000L, 0L), (writer.Written, writer.Dropped));
        Assert.Equal(1000, (await store.QueryMetricsAsync(Run, new MetricsQuery())).Count);
        Assert.False(writer.TryAdd(new MetricSample(Run, new MetricRow("a", 5000, T0))));
        Assert.Equal(1, writer.Dropped);
        await writer.DisposeAsync();
    }

    [Fact]
    public void TryAdd_FullBuffer_WarnsAtMostOncePerInterval()
    {
        var time = new FakeTimeProvider(T0);
        var logger = new ListLogger();
        var writer = new MetricsWriter(new UnusedStore(), new MetricsWriterOptions { Capacity = 1, DropWarningSeconds = 10 }, time, logger);
        Assert.True(writer.TryAdd(new MetricSample(Run, new MetricRow("a", 0, T0))));
        for (var i = 0; i < 50; i++)
        {
            Assert.False(writer.TryAdd(new MetricSample(Run, new MetricRow("a", i + 1, T0))));
        }

        Assert.Single(logger.Warnings);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(writer.TryAdd(new MetricSample(Run, new MetricRow("a", 100, T0))));
        Assert.Single(logger.Warnings);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(writer.TryAdd(new MetricSample(Run, new MetricRow("a", 101, T0))));
        Assert.Equal(2, logger.Warnings.Count);
        Assert.Contains("52 row(s) dropped", logger.Warnings[1], StringComparison.Ordinal);
        Assert.Equal(52, writer.Dropped);
    }

    [Fact]
    public void Options_OutOfRange_NamesTheKey()
    {
        var problems = new MetricsWriterOptions { Capacity = 0, BatchSize = 0 }.Problems().Select(p => p.Key).ToList();
        Assert.Equal(["Capacity", "BatchSize"], problems);
        var e = Assert.Throws<ArgumentException>(() => new MetricsWriter(new UnusedStore(), new MetricsWriterOptions { Capacity = 0 }, TimeProvider.System, NullLogger<MetricsWriter>.Instance));
        Assert.Contains("Database:Metrics:Capacity", e.Message, StringComparison.Ordinal);
    }

    private sealed class ListLogger : ILogger<MetricsWriter>
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Warnings.Add(formatter(state, exception));
            }
        }
    }

    private sealed class UnusedStore : IRunStore
    {
        public Task<RunInsertResult> InsertRunAsync(NewRun run, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<RunRow?> GetRunAsync(RunKey run, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<RunPage> ListRunsAsync(RunListQuery query, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<RunUpdateResult> UpdateRunStateAsync(RunKey run, string state, long? expectedVersion, DateTimeOffset? finished = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> DeleteRunAsync(RunKey run, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task UpsertPeersAsync(RunKey run, IReadOnlyList<PeerRow> peers, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<PeerRow>> GetPeersAsync(RunKey run, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<EventRow>> AppendEventsAsync(RunKey run, IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<EventRow>> ReadEventsAsync(RunKey run, long afterId, int limit, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<PendingChangeRow> AddPendingChangeAsync(RunKey run, long atStep, string changeJson, DateTimeOffset created, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<PendingChangeRow>> GetPendingChangesAsync(RunKey run, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task AddCheckpointAsync(RunKey run, CheckpointRow checkpoint, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task RemoveCheckpointsAsync(RunKey run, IReadOnlyList<(string Peer, long Step)> checkpoints, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<CheckpointRow>> ListCheckpointsAsync(RunKey run, string? peer = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<int> InsertMetricsAsync(IReadOnlyList<MetricSample> batch, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<MetricRow>> QueryMetricsAsync(RunKey run, MetricsQuery query, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
