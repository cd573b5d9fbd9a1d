-- A recurring gift's collection paused by the donor in the portal.
ALTER TABLE sessions ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
