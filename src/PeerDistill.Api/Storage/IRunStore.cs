namespace PeerDistill.Api.Storage;

/// <summary>The coordinator's queries on its database: runs and what belongs to them. The same semantics on SQLite and PostgreSQL.</summary>
internal interface IRunStore
{
    /// <summary>
    /// Inserts a run, unless its idempotency key was used before in its cohort (then the earlier
    /// run: <see cref="RunInsertOutcome.Replayed"/> for the same request hash, else
    /// <see cref="RunInsertOutcome.KeyReused"/>) or its id is taken (<see cref="RunInsertOutcome.RunExists"/>).
    /// </summary>
    Task<RunInsertResult> InsertRunAsync(NewRun run, CancellationToken cancellationToken = default);

    /// <summary>The run, or null.</summary>
    Task<RunRow?> GetRunAsync(RunKey run, CancellationToken cancellationToken = default);

    /// <summary>Runs newest first, filtered, a page at a time (the cursor is opaque: pass back <see cref="RunPage.NextCursor"/>).</summary>
    /// <exception cref="ArgumentException">A cursor this store did not make, or a limit out of range.</exception>
    Task<RunPage> ListRunsAsync(RunListQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets the run's state (and, when given, when it finished) and grows its version, provided
    /// its version is <paramref name="expectedVersion"/> (null: whatever it is).
    /// </summary>
    Task<RunUpdateResult> UpdateRunStateAsync(RunKey run, string state, long? expectedVersion, DateTimeOffset? finished = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes the run and everything of it (peers, events, changes, checkpoints index, metrics, idempotency keys); false when there was none.</summary>
    Task<bool> DeleteRunAsync(RunKey run, CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces the rows of these peers (others stay).</summary>
    /// <exception cref="RunNotFoundException">No such run.</exception>
    Task UpsertPeersAsync(RunKey run, IReadOnlyList<PeerRow> peers, CancellationToken cancellationToken = default);

    /// <summary>The run's peers by name (empty when there is no such run).</summary>
    Task<IReadOnlyList<PeerRow>> GetPeersAsync(RunKey run, CancellationToken cancellationToken = default);

    /// <summary>Appends events; each gets the next id of its run (1, 2, 3, ...; ids are never reused or reordered). Returns them with their ids.</summary>
    /// <exception cref="RunNotFoundException">No such run.</exception>
    Task<IReadOnlyList<EventRow>> AppendEventsAsync(RunKey run, IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default);

    /// <summary>The run's events with an id above <paramref name="afterId"/>, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<EventRow>> ReadEventsAsync(RunKey run, long afterId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Records a change every peer applies at <paramref name="atStep"/>.</summary>
    /// <exception cref="RunNotFoundException">No such run.</exception>
    Task<PendingChangeRow> AddPendingChangeAsync(RunKey run, long atStep, string changeJson, DateTimeOffset created, CancellationToken cancellationToken = default);

    /// <summary>The run's changes in the order they apply (by step, then as added).</summary>
    Task<IReadOnlyList<PendingChangeRow>> GetPendingChangesAsync(RunKey run, CancellationToken cancellationToken = default);

    /// <summary>Records a checkpoint (the same peer and step again replaces the row).</summary>
    /// <exception cref="RunNotFoundException">No such run.</exception>
    Task AddCheckpointAsync(RunKey run, CheckpointRow checkpoint, CancellationToken cancellationToken = default);

    /// <summary>Removes checkpoints from the index (files pruned or deleted); missing rows are ignored.</summary>
    Task RemoveCheckpointsAsync(RunKey run, IReadOnlyList<(string Peer, long Step)> checkpoints, CancellationToken cancellationToken = default);

    /// <summary>The run's checkpoints (of one peer when given), by peer then step.</summary>
    Task<IReadOnlyList<CheckpointRow>> ListCheckpointsAsync(RunKey run, string? peer = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a batch of metrics rows in one transaction. A (run, peer, step) already stored is not
    /// duplicated: its still-empty columns are filled in (see <see cref="MetricRow"/>). Rows of runs
    /// not in the database are skipped. Returns how many rows were of known runs.
    /// </summary>
    Task<int> InsertMetricsAsync(IReadOnlyList<MetricSample> batch, CancellationToken cancellationToken = default);

    /// <summary>The run's metrics by peer then step, filtered and thinned as <paramref name="query"/> says.</summary>
    /// <exception cref="ArgumentException">MaxPointsPerPeer out of range.</exception>
    Task<IReadOnlyList<MetricRow>> QueryMetricsAsync(RunKey run, MetricsQuery query, CancellationToken cancellationToken = default);
}
