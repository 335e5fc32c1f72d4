-- Migration 3 (PostgreSQL): API credentials and the audit trail (same logical schema as sqlite/0003_access.sql).
-- Times are Unix milliseconds (UTC).

-- An API token. The token itself is never stored: only a random salt and HMAC-SHA256(salt, secret)
-- as hex; id is the token's public part (the "pd_<id>." prefix), which finds the row.
CREATE TABLE api_tokens
(
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    role text NOT NULL,
    project text NULL,
    salt text NOT NULL,
    hash text NOT NULL,
    created_ms bigint NOT NULL,
    created_by text NOT NULL,
    expires_ms bigint NULL,
    revoked_ms bigint NULL
);

-- Who did what to which run (or token), when, from where, and how it ended.
CREATE TABLE audit
(
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time_ms bigint NOT NULL,
    actor text NOT NULL,
    actor_kind text NOT NULL,
    project text NULL,
    action text NOT NULL,
    cohort text NULL,
    run_id text NULL,
    target text NULL,
    outcome text NOT NULL,
    address text NULL,
    detail text NULL
);

CREATE INDEX ix_audit_time ON audit (time_ms, id);
