-- Migration 3 (SQLite): API credentials and the audit trail (same logical schema as postgres/0003_access.sql).
-- Times are Unix milliseconds (UTC).

-- An API token. The token itself is never stored: only a random salt and HMAC-SHA256(salt, secret)
-- as hex; id is the token's public part (the "pd_<id>." prefix), which finds the row.
CREATE TABLE api_tokens
(
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    project TEXT NULL,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_ms INTEGER NULL,
    revoked_ms INTEGER NULL
);

-- Who did what to which run (or token), when, from where, and how it ended.
CREATE TABLE audit
(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    project TEXT NULL,
    action TEXT NOT NULL,
    cohort TEXT NULL,
    run_id TEXT NULL,
    target TEXT NULL,
    outcome TEXT NOT NULL,
    address TEXT NULL,
    detail TEXT NULL
);

CREATE INDEX ix_audit_time ON audit (time_ms, id);
