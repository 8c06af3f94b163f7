-- The audit trail's `patients` column keeps the patients an event is about (hashed with the row,
-- ADR 0013), but no query reads it through an index: the access report and `patient=` searches
-- use the search index (`sp`, migration 0014's plans). Its GIN index only cost every append
-- (every read and write of the server appends), so it goes.
DROP INDEX IF EXISTS audit_trail_patients_idx;
