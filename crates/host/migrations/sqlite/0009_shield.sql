-- The card-testing shield's memory (it holds across restarts and, with a shared database,
-- across hosts): one row per pay attempt that reached the gateway, per thing it is counted
-- against (client IP, its network, session, email, card fingerprint, campaign); blocks; used
-- proofs of work; and attack-mode periods per campaign.
CREATE TABLE shield_events (
    merchant TEXT NOT NULL,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    declined INTEGER NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX shield_events_key ON shield_events(merchant, kind, key, at);
CREATE INDEX shield_events_at ON shield_events(at);

CREATE TABLE shield_blocks (
    merchant TEXT NOT NULL,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    until    INTEGER NOT NULL,
    PRIMARY KEY (merchant, kind, key)
);

CREATE TABLE shield_proofs (
    id      TEXT PRIMARY KEY,
    expires INTEGER NOT NULL
);

CREATE TABLE shield_attacks (
    campaign TEXT NOT NULL,
    started  INTEGER NOT NULL,
    ended    INTEGER
);
CREATE INDEX shield_attacks_campaign ON shield_attacks(campaign, started);
