-- Recurring gifts: a session's frequency and its gateway subscription, and each paid invoice
-- fulfilled once (keyed by the gateway's invoice id) with its own receipt.
ALTER TABLE sessions ADD COLUMN frequency TEXT NOT NULL DEFAULT 'one_time';
ALTER TABLE sessions ADD COLUMN subscription_id TEXT;
ALTER TABLE sessions ADD COLUMN subscription_status TEXT;
CREATE INDEX sessions_subscription ON sessions(subscription_id);
CREATE TABLE invoices (
    invoice_id     TEXT PRIMARY KEY,
    session_id     TEXT NOT NULL,
    billing_reason TEXT NOT NULL,
    amount         INTEGER NOT NULL,
    receipt_number TEXT,
    period_end     INTEGER,
    created        INTEGER NOT NULL
);
CREATE INDEX invoices_session ON invoices(session_id, created);
