-- The audit journal (issue 11; docs/adr/0016-audit-journal.md): what the request path commits for
-- each interaction, before its response, is one compact row holding what the AuditEvent builder
-- needs (src/audit/journal.ts: who, when, the outcome, the references read or written, the
-- patients) — not the AuditEvents themselves. The expander (src/audit/journal-expander.ts) turns
-- rows into the indexed, per-patient AuditEvents of audit_trail in bulk, in the same transaction
-- that deletes them here, so a row is in exactly one of the two tables at any time. Auditors'
-- reads, the sealer, and the audit CLI expand a tenant's rows first.
--
-- A queue, not the trail: the app role may INSERT, SELECT and DELETE (the expander runs as the
-- app role, under row-level security). Rows live seconds; the sealer never seals past the oldest
-- (src/storage/pg/audit-seal.ts), so the chain stays in (recorded, id) order.
CREATE TABLE audit_journal (
  tenant_id text NOT NULL,
  -- UUID version 7 taken from `recorded`: the primary key's order is (nearly) the recorded order.
  id text COLLATE "C" NOT NULL,
  recorded timestamptz NOT NULL,
  entry text NOT NULL,
  PRIMARY KEY (tenant_id, id)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000);
ALTER TABLE audit_journal ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_journal TO hearth_app
  USING (tenant_id = current_setting('app.tenant_id'))
  WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, DELETE ON audit_journal TO hearth_app;

-- Reads', refusals' and security events' rows are appended in a transaction of their own in ONE
-- round trip (the group commit; ADR 0015 made the same for the trail's rows, whose function this
-- replaces): a single statement outside any transaction block, so the role and tenant it sets end
-- with it and the INSERT runs as the app role under row-level security. Never call it inside a
-- transaction block. `in_entries` is src/storage/pg/audit-store.ts auditJournalJson()'s document;
-- the INSERT is that module's auditJournalInsert().
CREATE FUNCTION hearth_audit_journal_append(in_tenant text, in_entries json) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  appended bigint;
BEGIN
  PERFORM set_config('role', 'hearth_app', true), set_config('app.tenant_id', in_tenant, true);
  INSERT INTO audit_journal (tenant_id, id, recorded, entry)
  SELECT in_tenant, e.id, e.recorded, e.entry
  FROM json_to_recordset(in_entries) AS e(id text, recorded timestamptz, entry text);
  GET DIAGNOSTICS appended = ROW_COUNT;
  RETURN appended;
END
$$;
REVOKE ALL ON FUNCTION hearth_audit_journal_append(text, json) FROM PUBLIC;

DROP FUNCTION hearth_audit_append(text, json);
