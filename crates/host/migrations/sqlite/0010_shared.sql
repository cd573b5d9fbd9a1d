-- What several hosts sharing one database need (kept the same on SQLite, so both stores run one
-- set of statements): a lease on outbox rows being sent, one open attack period per campaign
-- (a unique index, so two hosts cannot both start one), singleton jobs' last runs, and the
-- per-client request counters of the rate limiter.
ALTER TABLE mail_outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX mail_outbox_unsent ON mail_outbox(sent, id);
CREATE UNIQUE INDEX shield_attacks_open ON shield_attacks(campaign) WHERE ended IS NULL;
CREATE TABLE job_runs (
    name     TEXT PRIMARY KEY,
    last_run INTEGER NOT NULL
);
CREATE TABLE rate_hits (
    key    TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    hits   INTEGER NOT NULL,
    PRIMARY KEY (key, bucket)
);
CREATE INDEX sessions_created ON sessions(created);
