-- Migration 2 (SQLite): the coordinator's own tables (same logical schema as postgres/0002_service.sql).
-- Times are Unix milliseconds (UTC); a run's children go with it (ON DELETE CASCADE; the store's
-- connections turn foreign keys on).

-- A run of a cohort. seq orders runs (newest first) and keys their children; version grows with
-- every change of state (the run resource's ETag); last_event_id is the newest event's id.
CREATE TABLE runs
(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    cohort TEXT NOT NULL,
    run_id TEXT NOT NULL,
    state TEXT NOT NULL,
    spec_text TEXT NOT NULL,
    spec_format TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    finished_ms INTEGER NULL,
    version INTEGER NOT NULL,
    last_event_id INTEGER NOT NULL DEFAULT 0,
    UNIQUE (cohort, run_id)
);

CREATE INDEX ix_runs_state ON runs (state, seq);

-- A client's idempotency key for creating a run, unique per cohort; request_hash tells a retry
-- of the same request from a different request reusing the key.
CREATE TABLE idempotency_keys
(
    cohort TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (cohort, idem_key)
);

CREATE INDEX ix_idempotency_keys_run ON idempotency_keys (run_seq);

-- Each peer of a run: where it runs now and how far it got.
CREATE TABLE peers
(
    run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    peer TEXT NOT NULL,
    state TEXT NOT NULL,
    device TEXT NOT NULL,
    worker TEXT NULL,
    silo TEXT NULL,
    generation INTEGER NOT NULL,
    step INTEGER NOT NULL,
    total_steps INTEGER NOT NULL,
    loss REAL NULL,
    accuracy REAL NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (run_seq, peer)
);

-- A run's events; id is 1, 2, 3, ... within the run (a server-sent event's id).
CREATE TABLE events
(
    run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    peer TEXT NULL,
    step INTEGER NULL,
    message TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (run_seq, id)
);

-- Changes to a running run, each applied by every peer at at_step (the change itself as JSON).
CREATE TABLE pending_changes
(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    at_step INTEGER NOT NULL,
    change_json TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE INDEX ix_pending_changes_run ON pending_changes (run_seq, at_step, id);

-- The checkpoints a run's peers wrote.
CREATE TABLE checkpoints
(
    run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    peer TEXT NOT NULL,
    step INTEGER NOT NULL,
    path TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (run_seq, peer, step)
);

-- Per-step metrics of each peer; one row per (run, peer, step) whatever is sent twice.
CREATE TABLE metrics
(
    run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    peer TEXT NOT NULL,
    step INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    loss REAL NULL,
    cross_entropy REAL NULL,
    distillation REAL NULL,
    hint REAL NULL,
    learning_rate REAL NULL,
    samples_per_second REAL NULL,
    accuracy REAL NULL,
    eval_loss REAL NULL,
    PRIMARY KEY (run_seq, peer, step)
) WITHOUT ROWID;
