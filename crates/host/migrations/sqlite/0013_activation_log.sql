-- The activation doctor: when each installation was last seen (re-activations), and the last
-- activation attempts of each licence, refused ones with their reason (at most 100 kept each).
ALTER TABLE activations ADD COLUMN last_seen BIGINT;
CREATE TABLE activation_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    instance   TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    reason     TEXT,
    at         BIGINT NOT NULL
);
CREATE INDEX activation_log_session ON activation_log(session_id, id);
-- The dashboard's search by email is one index lookup whatever the address's case.
CREATE INDEX sessions_email_lower ON sessions(lower(email));
-- The overview's figures (money per day and currency, the funnel, declines) read only this
-- index for a merchant's date range, never the table.
CREATE INDEX sessions_figures ON sessions(merchant, created, status, currency, amount, fee, amount_refunded, decline_code);
