-- Licence subscriptions: the session's tier, and how far a licence is paid (the end of its
-- last paid period, unix seconds; validity adds the campaign's grace days).
ALTER TABLE sessions ADD COLUMN tier TEXT;
ALTER TABLE fulfilments ADD COLUMN paid_until INTEGER;
