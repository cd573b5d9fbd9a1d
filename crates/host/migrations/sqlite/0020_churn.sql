-- Churn: when a recurring gift or subscription ended (canceled), so the overview can count who
-- was active at a period's start and who left during it. Rows canceled before this column
-- existed take their last update as the end.
ALTER TABLE sessions ADD COLUMN subscription_ended BIGINT;
UPDATE sessions SET subscription_ended = updated WHERE subscription_status = 'canceled';
CREATE INDEX sessions_recurring ON sessions(merchant, currency) WHERE subscription_id IS NOT NULL;
