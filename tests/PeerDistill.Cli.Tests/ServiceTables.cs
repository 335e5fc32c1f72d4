using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit;

namespace PeerDistill.Cli.Tests;

/// <summary>What a coordinator's database holds of one run, read with plain SQL (as an operator's query would).</summary>
internal sealed record ServiceTables(
    string State,
    string SpecText,
    IReadOnlyList<(string Peer, string State, long Generation, long Step)> Peers,
    IReadOnlyList<(long Id, string Kind, string? Peer)> Events,
    IReadOnlyList<(string Peer, long Step, long Bytes)> Checkpoints,
    IReadOnlyList<(long AtStep, string Change)> Changes,
    IReadOnlyDictionary<string, IReadOnlyList<long>> MetricSteps)
{
    /// <summary>The run's rows in the SQLite database of a coordinator's data directory.</summary>
    public static Task<ServiceTables> ReadSqliteAsync(string dataDirectory, string cohort, string run) =>
        ReadAsync(new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "peerdistill.db")}"), cohort, run);

    /// <summary>The run's rows in a PostgreSQL database.</summary>
    public static Task<ServiceTables> ReadPostgresAsync(string connectionString, string cohort, string run) =>
        ReadAsync(new NpgsqlConnection(connectionString), cohort, run);

    private static async Task<ServiceTables> ReadAsync(DbConnection connection, string cohort, string run)
    {
        await using (connection)
        {
            await connection.OpenAsync();
            var key = $"(SELECT seq FROM runs WHERE cohort = '{cohort}' AND run_id = '{run}')";
            var runRow = await RowsAsync(connection, $"SELECT state, spec_text FROM runs WHERE cohort = '{cohort}' AND run_id = '{run}'", r => (r.GetString(0), r.GetString(1)));
            var (state, spec) = Assert.Single(runRow);
            return new ServiceTables(
                state,
                spec,
                await RowsAsync(connection, $"SELECT peer, state, generation, step FROM peers WHERE run_seq = {key} ORDER BY peer", r => (r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3))),
                await RowsAsync(connection, $"SELECT id, kind, peer FROM events WHERE run_seq = {key} ORDER BY id", r => (r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2))),
                await RowsAsync(connection, $"SELECT peer, step, size_bytes FROM checkpoints WHERE run_seq = {key} ORDER BY peer, step", r => (r.GetString(0), r.GetInt64(1), r.GetInt64(2))),
                await RowsAsync(connection, $"SELECT at_step, change_json FROM pending_changes WHERE run_seq = {key} ORDER BY at_step, id", r => (r.GetInt64(0), r.GetString(1))),
                (await RowsAsync(connection, $"SELECT peer, step FROM metrics WHERE run_seq = {key} AND loss IS NOT NULL ORDER BY peer, step", r => (r.GetString(0), r.GetInt64(1))))
                    .GroupBy(m => m.Item1).ToDictionary(g => g.Key, g => (IReadOnlyList<long>)[.. g.Select(m => m.Item2)]));
        }
    }

    private static async Task<IReadOnlyList<T>> RowsAsync<T>(DbConnection connection, string sql, Func<DbDataReader, T> read)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>
    /// Reads until the tables show what <paramref name="done"/> waits for (the coordinator projects
    /// runs into them every second) or <paramref name="timeout"/> passes; the last read either way.
    /// </summary>
    public static async Task<ServiceTables> WaitAsync(Func<Task<ServiceTables>> read, Func<ServiceTables, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var tables = await read();
            if (done(tables) || DateTime.UtcNow > deadline)
            {
                return tables;
            }

            await Task.Delay(250);
        }
    }
}
