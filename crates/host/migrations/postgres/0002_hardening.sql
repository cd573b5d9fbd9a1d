-- Counters taken in one statement (increment, then judge what it returned), so requests in
-- flight together cannot all read "under the limit": sign-in guesses and mails per address,
-- network and requester, each in a window whose end is the row's expiry.
CREATE TABLE counters (
    key     TEXT PRIMARY KEY,
    hits    BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX counters_expires ON counters(expires);

-- A pay attempt is counted by the shield before it reaches the gateway: a reservation, taken
-- as a decline until its outcome is known (`attempt` names it; NULL for settled rows).
ALTER TABLE shield_events ADD COLUMN attempt TEXT;
CREATE INDEX shield_events_attempt ON shield_events(attempt);

-- The outbox retries with backoff and gives up: how many tries, when the next may run, why
-- the last failed.
ALTER TABLE mail_outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mail_outbox ADD COLUMN next_try BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mail_outbox ADD COLUMN last_error TEXT;

-- A renewal refunded or disputed at the gateway: `refunded` / `disputed` (a won dispute clears
-- it). Statements leave such a gift out; the other gifts of the subscription stay.
ALTER TABLE invoices ADD COLUMN reversed TEXT;

-- A licence's order reference (`ord_…`, keyed from the host's secret): what its key and leases
-- name instead of the checkout session, whose id opens the session's page (and its key).
ALTER TABLE fulfilments ADD COLUMN order_ref TEXT;
CREATE UNIQUE INDEX fulfilments_order_ref ON fulfilments(order_ref);
