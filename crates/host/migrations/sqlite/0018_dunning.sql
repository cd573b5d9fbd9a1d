-- Dunning figures: each renewal whose first charge failed, and whether (when) it was paid after.
CREATE TABLE renewal_failures (
    invoice_id   TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    merchant     TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    failed_at    BIGINT NOT NULL,
    recovered_at BIGINT
);
CREATE INDEX renewal_failures_merchant ON renewal_failures(merchant, failed_at);
