-- Background reindex jobs ($reindex, docs/search.md "Custom search parameters"): one row per
-- job, claimed by a worker with a lease so a crashed worker's job is resumed from its cursor.
-- `search_params` records which custom SearchParameter versions the job indexed: those become
-- searchable when it completes.
CREATE TABLE reindex_job (
  tenant_id text NOT NULL,
  id text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  resource_types text[] NOT NULL,
  search_params jsonb NOT NULL DEFAULT '[]',
  total bigint,
  processed bigint NOT NULL DEFAULT 0,
  cursor_type text,
  cursor_id text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  lease_until timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX reindex_job_claim_idx ON reindex_job (status, created_at) WHERE status IN ('queued', 'running');
ALTER TABLE reindex_job ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reindex_job TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE ON reindex_job TO hearth_app;
