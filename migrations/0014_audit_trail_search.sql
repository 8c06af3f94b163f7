-- AuditEvent is served from the audit trail (issue 11 "Auditor access"; src/storage/table-names.ts).
-- Reads, searches and includes use audit_trail itself (its first columns have the resource
-- tables' current-row shape); history and vread need the history tables' shape, so this view
-- shows each event as its one and only version, made by the server (POST, 201). `recorded` is
-- `last_updated`, so history pages (newest first) walk audit_trail's primary key
-- (tenant_id, recorded, id). security_invoker: the caller's row-level security on audit_trail
-- applies (a tenant sees its own events only), not the view owner's.
CREATE VIEW audit_trail_history WITH (security_invoker = true) AS
  SELECT tenant_id, id, version_id, recorded AS last_updated, deleted, content,
         'POST'::text AS method, 201::smallint AS status
  FROM audit_trail;
GRANT SELECT ON audit_trail_history TO hearth_app;
