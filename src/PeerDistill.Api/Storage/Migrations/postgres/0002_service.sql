-- Migration 2 (PostgreSQL): the coordinator's own tables (same logical schema as sqlite/0002_service.sql).
-- Times are Unix milliseconds (UTC); a run's children go with it (ON DELETE CASCADE).

-- A run of a cohort. seq orders runs (newest first) and keys their children; version grows with
-- every change of state (the run resource's ETag); last_event_id is the newest event's id.
CREATE TABLE runs
(
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cohort text NOT NULL,
    run_id text NOT NULL,
    state text NOT NULL,
    spec_text text NOT NULL,
    spec_format text NOT NULL,
    created_ms bigint NOT NULL,
    finished_ms bigint NULL,
    version bigint NOT NULL,
    last_event_id bigint NOT NULL DEFAULT 0,
    UNIQUE (cohort, run_id)
);

CREATE INDEX ix_runs_state ON runs (state, seq);

-- A client's idempotency key for creating a run, unique per cohort; request_hash tells a retry
-- of the same request from a different request reusing the key.
CREATE TABLE idempotency_keys
(
    cohort text NOT NULL,
    idem_key text NOT NULL,
    request_hash text NOT NULL,
    run_seq bigint NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    created_ms bigint NOT NULL,
    PRIMARY KEY (cohort, idem_key)
);

CREATE INDEX ix_idempotency_keys_run ON idempotency_keys (run_seq);

-- Each peer of a run: where it runs now and how far it got.
CREATE TABLE peers
(
    run_seq bigint NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    peer text NOT NULL,
    state text NOT NULL,
    device text NOT NULL,
    worker text NULL,
    silo text NULL,
    generation bigint NOT NULL,
    step bigint NOT NULL,
    total_steps bigint NOT NULL,
    loss double precision NULL,
    accuracy double precision NULL,
    updated_ms bigint NOT NULL,
    PRIMARY KEY (run_seq, peer)
);

-- A run's events; id is 1, 2, 3, ... within the run (a server-sent event's id).
CREATE TABLE events
(
    run_seq bigint NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    id bigint NOT NULL,
    kind text NOT NULL,
    peer text NULL,
    step bigint NULL,
    message text NOT NULL,
    time_ms bigint NOT NULL,
    PRIMARY KEY (run_seq, id)
);

-- Changes to a running run, each applied by every peer at at_step (the change itself as JSON).
CREATE TABLE pending_changes
(
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_seq bigint NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    at_step bigint NOT NULL,
    change_json text NOT NULL,
    created_ms bigint NOT NULL
);

CREATE INDEX ix_pending_changes_run ON pending_changes (run_seq, at_step, id);

-- The checkpoints a run's peers wrote.
CREATE TABLE checkpoints
(
    run_seq bigint NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    peer text NOT NULL,
    step bigint NOT NULL,
    path text NOT NULL,
    size_bytes bigint NOT NULL,
    time_ms bigint NOT NULL,
    PRIMARY KEY (run_seq, peer, step)
);

-- Per-step metrics of each peer; one row per (run, peer, step) whatever is sent twice.
CREATE TABLE metrics
(
    run_seq bigint NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
    peer text NOT NULL,
    step bigint NOT NULL,
    time_ms bigint NOT NULL,
    loss double precision NULL,
    cross_entropy double precision NULL,
    distillation double precision NULL,
    hint double precision NULL,
    learning_rate double precision NULL,
    samples_per_second double precision NULL,
    accuracy double precision NULL,
    eval_loss double precision NULL,
    PRIMARY KEY (run_seq, peer, step)
);
