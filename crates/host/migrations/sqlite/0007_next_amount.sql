-- A recurring gift's amount from the next period on, when the donor changed it (the session's
-- own amount stays what the first gift was).
ALTER TABLE sessions ADD COLUMN next_amount INTEGER;
