-- The checkout host's schema: sessions, pay attempts, webhook dedupe, fulfilments, mail outbox.
CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    merchant        TEXT NOT NULL,
    campaign        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    amount          INTEGER NOT NULL,
    fee             INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    email           TEXT,
    name            TEXT,
    status          TEXT NOT NULL,
    payment_intent  TEXT,
    redirect_url    TEXT,
    decline_code    TEXT,
    decline_message TEXT,
    amount_refunded INTEGER NOT NULL DEFAULT 0,
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL
);
CREATE INDEX sessions_payment_intent ON sessions(payment_intent);

CREATE TABLE pay_attempts (
    session_id TEXT NOT NULL,
    client_key TEXT NOT NULL,
    outcome    TEXT,
    created    INTEGER NOT NULL,
    PRIMARY KEY (session_id, client_key)
);

CREATE TABLE webhook_events (
    id       TEXT PRIMARY KEY,
    type     TEXT NOT NULL,
    received INTEGER NOT NULL
);

CREATE TABLE fulfilments (
    session_id     TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    license_key    TEXT,
    receipt_number TEXT,
    revoked        INTEGER NOT NULL DEFAULT 0,
    revoked_reason TEXT,
    created        INTEGER NOT NULL
);

CREATE TABLE receipt_counters (
    merchant TEXT PRIMARY KEY,
    last     INTEGER NOT NULL
);

CREATE TABLE mail_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    sent       INTEGER NOT NULL DEFAULT 0,
    created    INTEGER NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
