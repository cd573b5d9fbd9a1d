-- from sqlite/0015_disputes.sql
-- Disputes as the gateway's events tell them: the dashboard's list with deadlines, the
-- owners' mails (when one opens, and once 3 days before its deadline: `reminded`).
CREATE TABLE disputes (
    id         TEXT PRIMARY KEY,
    merchant   TEXT NOT NULL,
    session_id TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    currency   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    status     TEXT NOT NULL,
    due_by     BIGINT,
    created    BIGINT NOT NULL,
    reminded   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX disputes_merchant ON disputes(merchant, created);
CREATE INDEX disputes_due ON disputes(reminded, status, due_by);
