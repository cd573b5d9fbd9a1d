-- Outgoing webhooks (Standard Webhooks) to each merchant's own systems. No secret is stored:
-- an endpoint's secret is derived from the host's webhook key and `salt` (the rotated-out one
-- from `old_salt`, signed with too until `old_until`).
CREATE TABLE hook_endpoints (
    id              TEXT PRIMARY KEY,
    merchant        TEXT NOT NULL,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    salt            TEXT NOT NULL,
    old_salt        TEXT,
    old_until       BIGINT,
    created         BIGINT NOT NULL,
    failing_since   BIGINT,
    disabled        BIGINT,
    disabled_reason TEXT
);
CREATE INDEX hook_endpoints_merchant ON hook_endpoints(merchant);
-- Every event, written in the transaction of the change it tells (kept for replays).
CREATE TABLE hook_messages (
    id       TEXT PRIMARY KEY,
    merchant TEXT NOT NULL,
    kind     TEXT NOT NULL,
    session  TEXT,
    payload  TEXT NOT NULL,
    created  BIGINT NOT NULL
);
CREATE INDEX hook_messages_merchant ON hook_messages(merchant, created);
-- One delivery per message and endpoint: pending (due at next_at, or leased until then),
-- delivered or failed.
CREATE TABLE hook_deliveries (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    message  TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    state    TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at  BIGINT NOT NULL,
    UNIQUE (message, endpoint)
);
CREATE INDEX hook_deliveries_due ON hook_deliveries(state, next_at);
-- The delivery log: each try, its answer's status and excerpt, or why there was none.
CREATE TABLE hook_attempts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message    TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    at         BIGINT NOT NULL,
    status     BIGINT,
    latency_ms BIGINT NOT NULL,
    error      TEXT,
    response   TEXT
);
CREATE INDEX hook_attempts_endpoint ON hook_attempts(endpoint, id);
