-- Both terminology generations (shared, the tenant's) as 'shared:tenant', read in the same
-- round trip as BEGIN by writing transactions (src/storage/pg/tenant-session.ts), so a write
-- whose coded elements are checked against their bindings (issue 12) needs no query of its own
-- to know whether the memberships it holds in memory are current.
CREATE FUNCTION hearth_terminology_generations(p_tenant text) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  RETURN coalesce((SELECT generation FROM terminology_generation), 0)::text || ':' ||
    coalesce((SELECT generation FROM tenant_terminology_generation WHERE tenant_id = p_tenant), 0)::text;
END
$fn$;
