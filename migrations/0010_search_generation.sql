-- The tenant's search-parameter generation (src/search/tenant-params.ts): a number that moves
-- whenever its SearchParameter resources or completed reindex jobs change. Every write needs
-- it (the indexer depends on the tenant's parameters), so it must cost next to nothing: it is
-- a counter per tenant, bumped by triggers, read by primary key in the same round trip as
-- BEGIN (src/storage/pg/tenant-session.ts). Aggregating the two tables on every write cost
-- about 0.2 ms of database time per request (docs/benchmarks.md).
CREATE TABLE search_generation (
  tenant_id text PRIMARY KEY,
  generation bigint NOT NULL
);
ALTER TABLE search_generation ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON search_generation TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE ON search_generation TO hearth_app;

-- Runs as the writer: hearth_app inside a tenant transaction (RLS admits its own tenant's
-- row), or the owner for cross-tenant work such as the reindex worker.
CREATE FUNCTION hearth_bump_search_generation() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO search_generation AS g (tenant_id, generation)
  VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END, 1)
  ON CONFLICT (tenant_id) DO UPDATE SET generation = g.generation + 1;
  RETURN NULL;
END
$fn$;

-- Any SearchParameter version (a delete is a tombstone update); a reindex job reaching
-- 'completed' or a completed one going (what decides which custom parameters are searchable),
-- not its progress and lease updates.
CREATE TRIGGER search_parameter_generation AFTER INSERT OR UPDATE OR DELETE ON search_parameter
  FOR EACH ROW EXECUTE FUNCTION hearth_bump_search_generation();
CREATE TRIGGER reindex_job_completed AFTER UPDATE ON reindex_job
  FOR EACH ROW WHEN (NEW.status = 'completed' AND OLD.status IS DISTINCT FROM 'completed') EXECUTE FUNCTION hearth_bump_search_generation();
CREATE TRIGGER reindex_job_inserted_completed AFTER INSERT ON reindex_job
  FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION hearth_bump_search_generation();
CREATE TRIGGER reindex_job_deleted_completed AFTER DELETE ON reindex_job
  FOR EACH ROW WHEN (OLD.status = 'completed') EXECUTE FUNCTION hearth_bump_search_generation();

-- Tenants whose parameters exist already start at 1, so no cache built from the old
-- aggregate generation is mistaken for current.
INSERT INTO search_generation (tenant_id, generation)
SELECT tenant_id, 1 FROM search_parameter UNION SELECT tenant_id, 1 FROM reindex_job
ON CONFLICT DO NOTHING;

-- plpgsql keeps the plan of its query per connection (a simple-protocol statement would be
-- planned on every call). The tenant is an argument, so the answer does not depend on whether
-- the caller has switched to hearth_app yet (the opening statement sets role and tenant in the
-- same SELECT); under hearth_app row-level security applies as well.
CREATE FUNCTION hearth_search_generation(p_tenant text) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  RETURN coalesce((SELECT generation FROM search_generation WHERE tenant_id = p_tenant), 0)::text;
END
$fn$;
