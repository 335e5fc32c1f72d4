using System.Data.Common;
using System.Globalization;
using System.Text;

namespace PeerDistill.Api.Storage;

/// <summary>
/// <see cref="IRunStore"/> on the coordinator's database: one SQL text per query for both engines
/// (ON CONFLICT, RETURNING and window functions are common to SQLite 3.35+ and PostgreSQL), times as
/// Unix milliseconds, orderings by text done here (ordinal), not by the database's collation.
/// </summary>
internal sealed class RunStore(StoreDatabase database) : IRunStore
{
    private const string RunColumns = "cohort, run_id, state, spec_text, spec_format, created_ms, finished_ms, version, last_event_id";
    private const string CursorPrefix = "r1.";

    public async Task<RunInsertResult> InsertRunAsync(NewRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.IdempotencyKey is not null && string.IsNullOrEmpty(run.RequestHash))
        {
            throw new ArgumentException("a run with an idempotency key needs the request's hash", nameof(run));
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            if (run.IdempotencyKey is not null && await ByKeyAsync(connection, transaction, run, cancellationToken).ConfigureAwait(false) is { } earlier)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return earlier;
            }

            long? seq;
            await using (var insert = connection.Command($"""
                INSERT INTO runs ({RunColumns})
                VALUES (@cohort, @run, @state, @spec, @format, @created, NULL, 1, 0)
                ON CONFLICT (cohort, run_id) DO NOTHING
                RETURNING seq
                """, transaction)
                .With("cohort", run.Cohort).With("run", run.Run).With("state", run.State).With("spec", run.SpecText)
                .With("format", run.SpecFormat).With("created", run.Created.ToUnixTimeMilliseconds()))
            {
                seq = await ScalarLongAsync(insert, cancellationToken).ConfigureAwait(false);
            }

            if (seq is null)
            {
                var existing = await GetRunAsync(connection, transaction, new RunKey(run.Cohort, run.Run), cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new RunInsertResult(RunInsertOutcome.RunExists, existing!);
            }

            var keyTaken = false;
            if (run.IdempotencyKey is not null)
            {
                await using var key = connection.Command("""
                    INSERT INTO idempotency_keys (cohort, idem_key, request_hash, run_seq, created_ms)
                    VALUES (@cohort, @key, @hash, @seq, @created)
                    ON CONFLICT (cohort, idem_key) DO NOTHING
                    """, transaction)
                    .With("cohort", run.Cohort).With("key", run.IdempotencyKey).With("hash", run.RequestHash)
                    .With("seq", seq).With("created", run.Created.ToUnixTimeMilliseconds());
                keyTaken = await key.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0;
            }

            if (!keyTaken)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new RunInsertResult(RunInsertOutcome.Created, new RunRow(run.Cohort, run.Run, run.State, run.SpecText, run.SpecFormat, FromMillis(run.Created), null, 1, 0));
            }

            // A concurrent create with the same key committed first (PostgreSQL: this insert waited
            // for it on the key's index): undo this run and answer with that one.
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        }

        return await ByKeyAsync(connection, null, run, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"idempotency key '{run.IdempotencyKey}' of cohort '{run.Cohort}' was taken and then vanished");
    }

    public async Task<RunRow?> GetRunAsync(RunKey run, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetRunAsync(connection, null, run, cancellationToken).ConfigureAwait(false);
    }

    public async Task<RunPage> ListRunsAsync(RunListQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > RunListQuery.MaxLimit)
        {
            throw new ArgumentException($"limit {query.Limit} is out of range (1 to {RunListQuery.MaxLimit})", nameof(query));
        }

        var before = query.Cursor is null ? (long?)null : DecodeCursor(query.Cursor);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(string.Empty);
        var sql = new StringBuilder($"SELECT seq, {RunColumns} FROM runs WHERE 1 = 1");
        if (query.Cohort is not null)
        {
            sql.Append(" AND cohort = @cohort");
            command.With("cohort", query.Cohort);
        }

        if (before is not null)
        {
            sql.Append(" AND seq < @before");
            command.With("before", before);
        }

        if (query.States is { Count: > 0 } states)
        {
            sql.Append(" AND state IN (").AppendJoin(", ", states.Select((_, i) => $"@state{i}")).Append(')');
            var i = 0;
            foreach (var state in states)
            {
                command.With($"state{i++}", state);
            }
        }

        sql.Append(" ORDER BY seq DESC LIMIT @limit");
        command.With("limit", (long)query.Limit + 1);
        command.CommandText = sql.ToString();
        var runs = new List<(long Seq, RunRow Run)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                runs.Add((reader.Long("seq"), ReadRun(reader)));
            }
        }

        // One row more than the page was asked for: its presence says whether a next page exists.
        var more = runs.Count > query.Limit;
        var page = runs.Take(query.Limit).ToList();
        return new RunPage([.. page.Select(r => r.Run)], more ? EncodeCursor(page[^1].Seq) : null);
    }

    public async Task<RunUpdateResult> UpdateRunStateAsync(RunKey run, string state, long? expectedVersion, DateTimeOffset? finished = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(state);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        RunRow? updated = null;
        await using (var command = connection.Command($"""
            UPDATE runs SET state = @state, finished_ms = COALESCE(@finished, finished_ms), version = version + 1
            WHERE cohort = @cohort AND run_id = @run AND (@expected IS NULL OR version = @expected)
            RETURNING {RunColumns}
            """, transaction)
            .With("state", state).With("finished", finished?.ToUnixTimeMilliseconds()).With("cohort", run.Cohort).With("run", run.Run).With("expected", expectedVersion))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                updated = ReadRun(reader);
            }
        }

        var result = updated is not null
            ? new RunUpdateResult(RunUpdateOutcome.Updated, updated)
            : await GetRunAsync(connection, transaction, run, cancellationToken).ConfigureAwait(false) is { } current
                ? new RunUpdateResult(RunUpdateOutcome.VersionConflict, current)
                : new RunUpdateResult(RunUpdateOutcome.NotFound, null);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public async Task<bool> DeleteRunAsync(RunKey run, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("DELETE FROM runs WHERE cohort = @cohort AND run_id = @run", transaction)
            .With("cohort", run.Cohort).With("run", run.Run);
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    public async Task UpsertPeersAsync(RunKey run, IReadOnlyList<PeerRow> peers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peers);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var seq = await RequireSeqAsync(connection, transaction, run, cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("""
            INSERT INTO peers (run_seq, peer, state, device, worker, silo, generation, step, total_steps, loss, accuracy, updated_ms)
            VALUES (@seq, @peer, @state, @device, @worker, @silo, @generation, @step, @total, @loss, @accuracy, @updated)
            ON CONFLICT (run_seq, peer) DO UPDATE SET state = excluded.state, device = excluded.device, worker = excluded.worker,
                silo = excluded.silo, generation = excluded.generation, step = excluded.step, total_steps = excluded.total_steps,
                loss = excluded.loss, accuracy = excluded.accuracy, updated_ms = excluded.updated_ms
            """, transaction)
            .With("seq", seq).With("peer", (string?)null).With("state", (string?)null).With("device", (string?)null)
            .With("worker", (string?)null).With("silo", (string?)null).With("generation", (long?)null).With("step", (long?)null)
            .With("total", (long?)null).With("loss", (double?)null).With("accuracy", (double?)null).With("updated", (long?)null);
        foreach (var peer in peers)
        {
            command.Set("peer", peer.Peer);
            command.Set("state", peer.State);
            command.Set("device", peer.Device);
            command.Set("worker", peer.Worker);
            command.Set("silo", peer.Silo);
            command.Set("generation", peer.Generation);
            command.Set("step", peer.Step);
            command.Set("total", peer.TotalSteps);
            command.Set("loss", peer.Loss);
            command.Set("accuracy", peer.Accuracy);
            command.Set("updated", peer.Updated.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PeerRow>> GetPeersAsync(RunKey run, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("""
            SELECT p.peer, p.state, p.device, p.worker, p.silo, p.generation, p.step, p.total_steps, p.loss, p.accuracy, p.updated_ms
            FROM peers p JOIN runs r ON r.seq = p.run_seq
            WHERE r.cohort = @cohort AND r.run_id = @run
            """).With("cohort", run.Cohort).With("run", run.Run);
        var peers = new List<PeerRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            peers.Add(new PeerRow(
                reader.GetString(reader.GetOrdinal("peer")), reader.GetString(reader.GetOrdinal("state")), reader.GetString(reader.GetOrdinal("device")),
                reader.NullableString("worker"), reader.NullableString("silo"), reader.Long("generation"), reader.Long("step"), reader.Long("total_steps"),
                reader.NullableDouble("loss"), reader.NullableDouble("accuracy"), reader.Time("updated_ms")));
        }

        return [.. peers.OrderBy(p => p.Peer, StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<EventRow>> AppendEventsAsync(RunKey run, IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return [];
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);

        // Taking the ids updates the run's row: on PostgreSQL a concurrent append waits for this
        // transaction, so a run's ids become visible in order, without gaps (what a resuming reader needs).
        long seq;
        long last;
        await using (var take = connection.Command("""
            UPDATE runs SET last_event_id = last_event_id + @count WHERE cohort = @cohort AND run_id = @run
            RETURNING seq, last_event_id
            """, transaction).With("count", (long)events.Count).With("cohort", run.Cohort).With("run", run.Run))
        await using (var reader = await take.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new RunNotFoundException(run);
            }

            seq = reader.Long("seq");
            last = reader.Long("last_event_id");
        }

        var rows = new List<EventRow>(events.Count);
        await using var insert = connection.Command("""
            INSERT INTO events (run_seq, id, kind, peer, step, message, time_ms)
            VALUES (@seq, @id, @kind, @peer, @step, @message, @time)
            """, transaction)
            .With("seq", seq).With("id", (long?)null).With("kind", (string?)null).With("peer", (string?)null)
            .With("step", (long?)null).With("message", (string?)null).With("time", (long?)null);
        var id = last - events.Count;
        foreach (var e in events)
        {
            id++;
            insert.Set("id", id);
            insert.Set("kind", e.Kind);
            insert.Set("peer", e.Peer);
            insert.Set("step", e.Step);
            insert.Set("message", e.Message);
            insert.Set("time", e.Time.ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            rows.Add(new EventRow(id, e.Kind, e.Message, FromMillis(e.Time), e.Peer, e.Step));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return rows;
    }

    public async Task<IReadOnlyList<EventRow>> ReadEventsAsync(RunKey run, long afterId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("""
            SELECT e.id, e.kind, e.peer, e.step, e.message, e.time_ms
            FROM events e JOIN runs r ON r.seq = e.run_seq
            WHERE r.cohort = @cohort AND r.run_id = @run AND e.id > @after
            ORDER BY e.id
            LIMIT @limit
            """).With("cohort", run.Cohort).With("run", run.Run).With("after", afterId).With("limit", (long)limit);
        var events = new List<EventRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            events.Add(new EventRow(reader.Long("id"), reader.GetString(reader.GetOrdinal("kind")), reader.GetString(reader.GetOrdinal("message")),
                reader.Time("time_ms"), reader.NullableString("peer"), reader.NullableLong("step")));
        }

        return events;
    }

    public async Task<PendingChangeRow> AddPendingChangeAsync(RunKey run, long atStep, string changeJson, DateTimeOffset created, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(changeJson);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var seq = await RequireSeqAsync(connection, transaction, run, cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("""
            INSERT INTO pending_changes (run_seq, at_step, change_json, created_ms) VALUES (@seq, @step, @change, @created)
            RETURNING id
            """, transaction).With("seq", seq).With("step", atStep).With("change", changeJson).With("created", created.ToUnixTimeMilliseconds());
        var id = await ScalarLongAsync(command, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new PendingChangeRow(id!.Value, atStep, changeJson, FromMillis(created));
    }

    public async Task<IReadOnlyList<PendingChangeRow>> GetPendingChangesAsync(RunKey run, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("""
            SELECT c.id, c.at_step, c.change_json, c.created_ms
            FROM pending_changes c JOIN runs r ON r.seq = c.run_seq
            WHERE r.cohort = @cohort AND r.run_id = @run
            ORDER BY c.at_step, c.id
            """).With("cohort", run.Cohort).With("run", run.Run);
        var changes = new List<PendingChangeRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            changes.Add(new PendingChangeRow(reader.Long("id"), reader.Long("at_step"), reader.GetString(reader.GetOrdinal("change_json")), reader.Time("created_ms")));
        }

        return changes;
    }

    public async Task AddCheckpointAsync(RunKey run, CheckpointRow checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var seq = await RequireSeqAsync(connection, transaction, run, cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("""
            INSERT INTO checkpoints (run_seq, peer, step, path, size_bytes, time_ms) VALUES (@seq, @peer, @step, @path, @size, @time)
            ON CONFLICT (run_seq, peer, step) DO UPDATE SET path = excluded.path, size_bytes = excluded.size_bytes, time_ms = excluded.time_ms
            """, transaction)
            .With("seq", seq).With("peer", checkpoint.Peer).With("step", checkpoint.Step).With("path", checkpoint.Path)
            .With("size", checkpoint.SizeBytes).With("time", checkpoint.Time.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveCheckpointsAsync(RunKey run, IReadOnlyList<(string Peer, long Step)> checkpoints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        if (checkpoints.Count == 0)
        {
            return;
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("""
            DELETE FROM checkpoints
            WHERE run_seq = (SELECT seq FROM runs WHERE cohort = @cohort AND run_id = @run) AND peer = @peer AND step = @step
            """, transaction).With("cohort", run.Cohort).With("run", run.Run).With("peer", (string?)null).With("step", (long?)null);
        foreach (var (peer, step) in checkpoints)
        {
            command.Set("peer", peer);
            command.Set("step", step);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<CheckpointRow>> ListCheckpointsAsync(RunKey run, string? peer = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command($"""
            SELECT c.peer, c.step, c.path, c.size_bytes, c.time_ms
            FROM checkpoints c JOIN runs r ON r.seq = c.run_seq
            WHERE r.cohort = @cohort AND r.run_id = @run{(peer is null ? string.Empty : " AND c.peer = @peer")}
            """).With("cohort", run.Cohort).With("run", run.Run);
        if (peer is not null)
        {
            command.With("peer", peer);
        }

        var checkpoints = new List<CheckpointRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            checkpoints.Add(new CheckpointRow(reader.GetString(reader.GetOrdinal("peer")), reader.Long("step"), reader.GetString(reader.GetOrdinal("path")),
                reader.Long("size_bytes"), reader.Time("time_ms")));
        }

        return [.. checkpoints.OrderBy(c => c.Peer, StringComparer.Ordinal).ThenBy(c => c.Step)];
    }

    public async Task<int> InsertMetricsAsync(IReadOnlyList<MetricSample> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return 0;
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("""
            INSERT INTO metrics (run_seq, peer, step, time_ms, loss, cross_entropy, distillation, hint, learning_rate, samples_per_second, accuracy, eval_loss)
            SELECT r.seq, @peer, @step, @time, @loss, @ce, @kd, @hint, @lr, @sps, @accuracy, @evalloss
            FROM runs r WHERE r.cohort = @cohort AND r.run_id = @run
            ON CONFLICT (run_seq, peer, step) DO UPDATE SET
                loss = COALESCE(metrics.loss, excluded.loss),
                cross_entropy = COALESCE(metrics.cross_entropy, excluded.cross_entropy),
                distillation = COALESCE(metrics.distillation, excluded.distillation),
                hint = COALESCE(metrics.hint, excluded.hint),
                learning_rate = COALESCE(metrics.learning_rate, excluded.learning_rate),
                samples_per_second = COALESCE(metrics.samples_per_second, excluded.samples_per_second),
                accuracy = COALESCE(metrics.accuracy, excluded.accuracy),
                eval_loss = COALESCE(metrics.eval_loss, excluded.eval_loss)
            """, transaction)
            .With("cohort", (string?)null).With("run", (string?)null).With("peer", (string?)null).With("step", (long?)null).With("time", (long?)null)
            .With("loss", (double?)null).With("ce", (double?)null).With("kd", (double?)null).With("hint", (double?)null)
            .With("lr", (double?)null).With("sps", (double?)null).With("accuracy", (double?)null).With("evalloss", (double?)null);
        var stored = 0;
        foreach (var (run, row) in batch)
        {
            command.Set("cohort", run.Cohort);
            command.Set("run", run.Run);
            command.Set("peer", row.Peer);
            command.Set("step", row.Step);
            command.Set("time", row.Time.ToUnixTimeMilliseconds());
            command.Set("loss", row.Loss);
            command.Set("ce", row.CrossEntropy);
            command.Set("kd", row.Distillation);
            command.Set("hint", row.Hint);
            command.Set("lr", row.LearningRate);
            command.Set("sps", row.SamplesPerSecond);
            command.Set("accuracy", row.Accuracy);
            command.Set("evalloss", row.EvalLoss);
            stored += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0 ? 1 : 0;
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return stored;
    }

    public async Task<IReadOnlyList<MetricRow>> QueryMetricsAsync(RunKey run, MetricsQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.MaxPointsPerPeer is < 1 or > MetricsQuery.MaxPoints)
        {
            throw new ArgumentException($"at most {query.MaxPointsPerPeer} points per peer is out of range (1 to {MetricsQuery.MaxPoints})", nameof(query));
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(string.Empty)
            .With("cohort", run.Cohort).With("run", run.Run).With("from", query.FromStep ?? long.MinValue).With("to", query.ToStep ?? long.MaxValue);
        var peerFilter = string.Empty;
        if (query.Peers is { Count: > 0 } peers)
        {
            peerFilter = $" AND m.peer IN ({string.Join(", ", peers.Select((_, i) => $"@peer{i}"))})";
            var i = 0;
            foreach (var peer in peers)
            {
                command.With($"peer{i++}", peer);
            }
        }

        const string Columns = "peer, step, time_ms, loss, cross_entropy, distillation, hint, learning_rate, samples_per_second, accuracy, eval_loss";
        var selected = $"""
            SELECT m.peer, m.step, m.time_ms, m.loss, m.cross_entropy, m.distillation, m.hint, m.learning_rate, m.samples_per_second, m.accuracy, m.eval_loss
            FROM metrics m JOIN runs r ON r.seq = m.run_seq
            WHERE r.cohort = @cohort AND r.run_id = @run AND m.step >= @from AND m.step <= @to{peerFilter}
            """;
        if (query.MaxPointsPerPeer is { } max)
        {
            // rn: the row's 0-based rank in its peer's selection of n rows; every k-th is kept.
            command.With("max", (long)max);
            command.CommandText = $"""
                WITH ranked AS (
                    SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.peer ORDER BY s.step) - 1 AS rn, COUNT(*) OVER (PARTITION BY s.peer) AS n
                    FROM ({selected}) s),
                strided AS (
                    SELECT ranked.*, CASE WHEN n <= @max THEN 1 WHEN @max <= 1 THEN n ELSE (n + @max - 3) / (@max - 1) END AS k
                    FROM ranked)
                SELECT {Columns} FROM strided WHERE rn % k = 0
                """;
        }
        else
        {
            command.CommandText = selected;
        }

        var rows = new List<MetricRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new MetricRow(
                reader.GetString(reader.GetOrdinal("peer")), reader.Long("step"), reader.Time("time_ms"),
                reader.NullableDouble("loss"), reader.NullableDouble("cross_entropy"), reader.NullableDouble("distillation"), reader.NullableDouble("hint"),
                reader.NullableDouble("learning_rate"), reader.NullableDouble("samples_per_second"), reader.NullableDouble("accuracy"), reader.NullableDouble("eval_loss")));
        }

        return [.. rows.OrderBy(r => r.Peer, StringComparer.Ordinal).ThenBy(r => r.Step)];
    }

    private static async Task<RunRow?> GetRunAsync(DbConnection connection, DbTransaction? transaction, RunKey run, CancellationToken cancellationToken)
    {
        await using var command = connection.Command($"SELECT {RunColumns} FROM runs WHERE cohort = @cohort AND run_id = @run", transaction)
            .With("cohort", run.Cohort).With("run", run.Run);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadRun(reader) : null;
    }

    private static async Task<RunInsertResult?> ByKeyAsync(DbConnection connection, DbTransaction? transaction, NewRun run, CancellationToken cancellationToken)
    {
        await using var command = connection.Command($"""
            SELECT k.request_hash, {string.Join(", ", RunColumns.Split(", ").Select(c => "r." + c))}
            FROM idempotency_keys k JOIN runs r ON r.seq = k.run_seq
            WHERE k.cohort = @cohort AND k.idem_key = @key
            """, transaction).With("cohort", run.Cohort).With("key", run.IdempotencyKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var same = reader.GetString(reader.GetOrdinal("request_hash")) == run.RequestHash;
        return new RunInsertResult(same ? RunInsertOutcome.Replayed : RunInsertOutcome.KeyReused, ReadRun(reader));
    }

    private static async Task<long> RequireSeqAsync(DbConnection connection, DbTransaction transaction, RunKey run, CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT seq FROM runs WHERE cohort = @cohort AND run_id = @run", transaction)
            .With("cohort", run.Cohort).With("run", run.Run);
        return await ScalarLongAsync(command, cancellationToken).ConfigureAwait(false) ?? throw new RunNotFoundException(run);
    }

    private static async Task<long?> ScalarLongAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? null : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    private static RunRow ReadRun(DbDataReader reader) => new(
        reader.GetString(reader.GetOrdinal("cohort")),
        reader.GetString(reader.GetOrdinal("run_id")),
        reader.GetString(reader.GetOrdinal("state")),
        reader.GetString(reader.GetOrdinal("spec_text")),
        reader.GetString(reader.GetOrdinal("spec_format")),
        reader.Time("created_ms"),
        reader.NullableTime("finished_ms"),
        reader.Long("version"),
        reader.Long("last_event_id"));

    private static DateTimeOffset FromMillis(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    private static string EncodeCursor(long seq) => Convert.ToBase64String(Encoding.UTF8.GetBytes(CursorPrefix + seq.ToString(CultureInfo.InvariantCulture))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static long DecodeCursor(string cursor)
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 += new string('=', (4 - (base64.Length % 4)) % 4);
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            if (text.StartsWith(CursorPrefix, StringComparison.Ordinal)
                && long.TryParse(text.AsSpan(CursorPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) && seq > 0)
            {
                return seq;
            }
        }
        catch (FormatException)
        {
        }

        throw new ArgumentException($"cursor '{cursor}' is not one this service gave out", nameof(cursor));
    }
}
