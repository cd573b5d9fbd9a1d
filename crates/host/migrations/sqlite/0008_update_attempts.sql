-- Tries through a failed renewal's update-card link (a cap keeps the link from becoming a way
-- to test stolen cards against the merchant's account).
CREATE TABLE update_card_attempts (
    session_id TEXT NOT NULL,
    created    INTEGER NOT NULL
);
CREATE INDEX update_card_attempts_session ON update_card_attempts(session_id, created);
