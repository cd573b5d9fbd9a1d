-- The overview's recurring figures read only this index (100,000 payments of which 20,000
-- recurring, SQLite: the query 61 ms → see the README's dashboard figures).
DROP INDEX sessions_recurring;
CREATE INDEX sessions_recurring ON sessions(merchant, currency, created, subscription_ended, subscription_status, frequency, amount, next_amount) WHERE subscription_id IS NOT NULL;
