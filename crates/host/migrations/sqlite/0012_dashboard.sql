-- The merchant dashboard: an append-only audit log of staff actions (shown in each record's
-- timeline), and the index the dashboard's lists and figures read by (merchant, time).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant   TEXT NOT NULL,
    session_id TEXT,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX audit_log_session ON audit_log(session_id, at);
CREATE INDEX sessions_merchant_created ON sessions(merchant, created);
CREATE INDEX mail_outbox_session ON mail_outbox(session_id);
