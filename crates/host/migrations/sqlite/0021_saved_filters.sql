-- Saved filters: a staff member's named views of the payments list, per merchant, and how many
-- each has (a counter row, so a limit holds when saves race: its update takes a row lock).
CREATE TABLE saved_filters (
    id       TEXT PRIMARY KEY,
    merchant TEXT NOT NULL,
    email    TEXT NOT NULL,
    name     TEXT NOT NULL,
    query    TEXT NOT NULL,
    created  BIGINT NOT NULL
);
CREATE INDEX saved_filters_owner ON saved_filters(merchant, email, created);
CREATE TABLE saved_filter_counts (
    merchant TEXT NOT NULL,
    email    TEXT NOT NULL,
    used     BIGINT NOT NULL,
    PRIMARY KEY (merchant, email)
);
