-- from sqlite/0016_licence_care.sql
-- Support's licence care from the dashboard: seats added to the plan's, days added to the last
-- valid day, and a suspension (reversible, unlike a revocation).
ALTER TABLE fulfilments ADD COLUMN extra_seats BIGINT NOT NULL DEFAULT 0;
ALTER TABLE fulfilments ADD COLUMN extra_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE fulfilments ADD COLUMN suspended BIGINT NOT NULL DEFAULT 0;
