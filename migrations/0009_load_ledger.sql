-- hearth load's resumability ledger (docs/loading.md): one row per source file loaded into a
-- tenant, keyed by the file's path relative to the load argument, its size and the sha256 of its
-- bytes. `completed_at` is set only after the file's last transaction committed; a re-run skips
-- such files. While an NDJSON file is part-way, `lines_done` is the last line of the committed
-- prefix, and a re-run resumes after it.
CREATE TABLE load_ledger (
  tenant_id text NOT NULL,
  path text NOT NULL,
  size_bytes bigint NOT NULL,
  sha256 text NOT NULL,
  lines_done bigint NOT NULL DEFAULT 0,
  resources bigint NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (tenant_id, path, size_bytes, sha256)
);
ALTER TABLE load_ledger ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON load_ledger TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE ON load_ledger TO hearth_app;
