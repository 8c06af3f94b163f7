-- The audit trail's rows kept whole in their page (issue 11 benchmark; docs/benchmarks.md): an
-- AuditEvent (about 2 kB of JSON) and its search index (about 1 kB of jsonb) make a row just over
-- the 2 kB at which PostgreSQL compresses it and then moves what is still too big to the TOAST
-- table, so nearly every append wrote three tuples (the row, a TOAST chunk, its TOAST index
-- entry) and their WAL. With storage MAIN both columns are still compressed but stay in the row
-- unless it could not fit a page at all: one tuple per event, the same disk. Partitions made
-- later (hearth_audit_ensure_partitions) take the columns' storage from the parent.
ALTER TABLE audit_trail ALTER COLUMN content SET STORAGE MAIN, ALTER COLUMN sp SET STORAGE MAIN;
