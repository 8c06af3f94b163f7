-- The tenant's search-parameter generation (src/search/tenant-params.ts): a value that moves
-- whenever its SearchParameter resources or completed reindex jobs change. Every write needs
-- it (the indexer depends on the tenant's parameters), so it is read in the same round trip as
-- BEGIN (src/storage/pg/tenant-session.ts), as a function: a simple-protocol statement is
-- parsed and planned on every call, while plpgsql keeps the plans of its queries per
-- connection. Runs as the caller (hearth_app), so row-level security applies as well as the
-- explicit tenant.
CREATE OR REPLACE FUNCTION hearth_search_generation() RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  tenant text := current_setting('app.tenant_id');
BEGIN
  RETURN (SELECT count(*) || '/' || coalesce(max(last_updated)::text, '') FROM search_parameter WHERE tenant_id = tenant)
    || ' ' ||
    (SELECT count(*) || '/' || coalesce(max(finished_at)::text, '') FROM reindex_job WHERE tenant_id = tenant AND status = 'completed');
END
$fn$;
