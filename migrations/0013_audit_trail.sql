-- The audit trail (issue 11; docs/adr/0013-audit-trail-storage.md). AuditEvent rows live in
-- their own append-only table, RANGE-partitioned by month on `recorded` (UTC month bounds),
-- with a DEFAULT partition so that an insert never fails for want of a partition. The name
-- audit_event is already the generic resource table of 0002, so the trail is audit_trail; its
-- first columns have the resource tables' current-row shape (tenant_id, id, version_id,
-- last_updated, deleted, content, sp) so that the search engine can read it as AuditEvent.
-- Integrity: every row carries `hash` (SHA-256 over a canonical serialization, computed by
-- src/audit/chain/row-hash.ts); audit_seal holds per-tenant sealed batches (Merkle root of the
-- rows' hashes) chained by seal_hash. Both tables: the app role may INSERT and SELECT only and a
-- trigger refuses UPDATE and DELETE for everyone; archival detaches partitions as the owner.
CREATE TABLE audit_trail (
  tenant_id text NOT NULL,
  id text COLLATE "C" NOT NULL,
  version_id integer NOT NULL DEFAULT 1,
  last_updated timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  content text NOT NULL,
  sp jsonb,
  recorded timestamptz NOT NULL,
  patients text[] NOT NULL DEFAULT '{}',
  hash bytea NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (tenant_id, recorded, id)
) PARTITION BY RANGE (recorded);
CREATE INDEX audit_trail_id_idx ON audit_trail (tenant_id, id);
CREATE INDEX audit_trail_sp_idx ON audit_trail USING gin (sp jsonb_path_ops);
CREATE INDEX audit_trail_patients_idx ON audit_trail USING gin (patients);
ALTER TABLE audit_trail ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_trail TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT ON audit_trail TO hearth_app;

CREATE TABLE audit_trail_p_default PARTITION OF audit_trail DEFAULT;
ALTER TABLE audit_trail_p_default ENABLE ROW LEVEL SECURITY;

-- Sealed batches: rows of one tenant in ((first_recorded, first_id) .. (last_recorded, last_id)),
-- ordered by (recorded, id), row_count of them, Merkle root of their hashes; seal_hash covers
-- every column above and prev_seal_hash (the previous seq's seal_hash; 32 zero bytes for seq 1).
CREATE TABLE audit_seal (
  tenant_id text NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 1),
  first_recorded timestamptz NOT NULL,
  first_id text COLLATE "C" NOT NULL,
  last_recorded timestamptz NOT NULL,
  last_id text COLLATE "C" NOT NULL,
  row_count integer NOT NULL CHECK (row_count >= 1),
  merkle_root bytea NOT NULL CHECK (octet_length(merkle_root) = 32),
  prev_seal_hash bytea NOT NULL CHECK (octet_length(prev_seal_hash) = 32),
  seal_hash bytea NOT NULL CHECK (octet_length(seal_hash) = 32),
  sealed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, seq)
);
ALTER TABLE audit_seal ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_seal TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT ON audit_seal TO hearth_app;

-- What archiving a month took away, per tenant: the seals whose rows left with the file, and the
-- file's name and sha256 (the manifest's content, kept in the database for verify).
CREATE TABLE audit_archive (
  tenant_id text NOT NULL,
  month date NOT NULL,
  row_count bigint NOT NULL,
  first_seq bigint,
  last_seq bigint,
  last_seal_hash bytea,
  file_name text NOT NULL,
  file_sha256 text NOT NULL,
  archived_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, month)
);
ALTER TABLE audit_archive ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_archive TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT ON audit_archive TO hearth_app;

CREATE FUNCTION hearth_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_trail_append_only BEFORE UPDATE OR DELETE ON audit_trail FOR EACH ROW EXECUTE FUNCTION hearth_audit_refuse_change();
CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON audit_seal FOR EACH ROW EXECUTE FUNCTION hearth_audit_refuse_change();
CREATE TRIGGER audit_archive_append_only BEFORE UPDATE OR DELETE ON audit_archive FOR EACH ROW EXECUTE FUNCTION hearth_audit_refuse_change();

-- Creates the monthly partitions audit_trail_pYYYYMM for the month of `from_time` (UTC) and
-- `months_ahead` months after it, RLS enabled. Rows that an earlier insert put in the DEFAULT
-- partition for such a month are moved into the new partition (the default is detached for the
-- move, so the append-only trigger, which detaching drops from it, does not stand in the way).
-- Returns the partitions created. Run at migrate time and by `hearth audit partitions`.
CREATE FUNCTION hearth_audit_ensure_partitions(from_time timestamptz, months_ahead integer) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  month_start timestamp;
  lower_bound timestamptz;
  upper_bound timestamptz;
  part text;
  stray bigint;
BEGIN
  month_start := date_trunc('month', from_time AT TIME ZONE 'UTC');
  FOR i IN 0..months_ahead LOOP
    lower_bound := (month_start + make_interval(months => i)) AT TIME ZONE 'UTC';
    upper_bound := (month_start + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
    part := 'audit_trail_p' || to_char(month_start + make_interval(months => i), 'YYYYMM');
    CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
    SELECT count(*) INTO stray FROM audit_trail_p_default WHERE recorded >= lower_bound AND recorded < upper_bound;
    IF stray > 0 THEN
      ALTER TABLE audit_trail DETACH PARTITION audit_trail_p_default;
      EXECUTE format('CREATE TABLE %I PARTITION OF audit_trail FOR VALUES FROM (%L) TO (%L)', part, lower_bound, upper_bound);
      EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
      INSERT INTO audit_trail SELECT * FROM audit_trail_p_default WHERE recorded >= lower_bound AND recorded < upper_bound;
      DELETE FROM audit_trail_p_default WHERE recorded >= lower_bound AND recorded < upper_bound;
      ALTER TABLE audit_trail ATTACH PARTITION audit_trail_p_default DEFAULT;
    ELSE
      EXECUTE format('CREATE TABLE %I PARTITION OF audit_trail FOR VALUES FROM (%L) TO (%L)', part, lower_bound, upper_bound);
      EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
    END IF;
    RETURN NEXT part;
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION hearth_audit_ensure_partitions(timestamptz, integer) FROM PUBLIC;

SELECT hearth_audit_ensure_partitions(now(), 3);
