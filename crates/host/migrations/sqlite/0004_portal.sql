-- The customer portal: sign-in requests (a magic link and a 6-digit code in one mail; only
-- their SHA-256 hashes are kept, single use, 15 minutes) and signed-in sessions (the cookie's
-- hash, a CSRF token per session).
CREATE TABLE portal_logins (
    token_hash TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    expires    INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created    INTEGER NOT NULL
);
CREATE INDEX portal_logins_email ON portal_logins(email, created);
CREATE TABLE portal_sessions (
    id_hash TEXT PRIMARY KEY,
    email   TEXT NOT NULL,
    csrf    TEXT NOT NULL,
    expires INTEGER NOT NULL,
    created INTEGER NOT NULL
);
ALTER TABLE sessions ADD COLUMN cancel_at_period_end INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_email ON sessions(email);
