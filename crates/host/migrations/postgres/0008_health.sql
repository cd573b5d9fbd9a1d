-- from sqlite/0017_health.sql
-- The dashboard's health view: the gateway's webhooks per hour (received, refused, how late).
CREATE TABLE webhook_stats (
    hour        BIGINT PRIMARY KEY,
    received    BIGINT NOT NULL DEFAULT 0,
    rejected    BIGINT NOT NULL DEFAULT 0,
    delay_total BIGINT NOT NULL DEFAULT 0,
    delay_max   BIGINT NOT NULL DEFAULT 0,
    last_at     BIGINT NOT NULL DEFAULT 0
);
