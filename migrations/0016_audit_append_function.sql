-- Appending audit rows in a transaction of their own in ONE round trip (issue 11; ADR 0015): the
-- group commit of reads' and refusals' AuditEvents calls this as a single statement outside any
-- transaction block, so the statement is its own transaction: the role and tenant it sets are
-- local to it, and its INSERT runs as the app role under row-level security like every tenant
-- write. (A BEGIN, settings, INSERT, COMMIT sequence costs three round trips, each a syscall and
-- a wake-up on both sides, which on a small machine is most of what a read costs.) Never call it
-- inside a transaction block: the role it sets would last until that transaction ends.
-- `in_rows` is the JSON document src/storage/pg/audit-store.ts auditRecordsJson() makes; the INSERT
-- is that module's auditInsert().
CREATE FUNCTION hearth_audit_append(in_tenant text, in_rows json) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  appended bigint;
BEGIN
  PERFORM set_config('role', 'hearth_app', true), set_config('app.tenant_id', in_tenant, true);
  INSERT INTO audit_trail (tenant_id, id, version_id, last_updated, deleted, content, sp, recorded, patients, hash)
  SELECT in_tenant, r.id, 1, r.recorded, false, r.content, r.sp, r.recorded,
         ARRAY(SELECT json_array_elements_text(r.patients)), decode(r.hash, 'hex')
  FROM json_to_recordset(in_rows) AS r(id text, recorded timestamptz, content text, sp jsonb, patients json, hash text);
  GET DIAGNOSTICS appended = ROW_COUNT;
  RETURN appended;
END
$$;
REVOKE ALL ON FUNCTION hearth_audit_append(text, json) FROM PUBLIC;
