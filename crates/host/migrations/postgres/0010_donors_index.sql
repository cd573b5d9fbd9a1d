-- from sqlite/0019_donors_index.sql
-- The overview's donors (new, retained, reactivated) group a merchant's donations by address:
-- this index holds them in that order with what the query reads, so it never reads the table.
CREATE INDEX sessions_donors ON sessions(merchant, kind, lower(email), created, status);
