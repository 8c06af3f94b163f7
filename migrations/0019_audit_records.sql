-- One stored record per interaction, its per-patient AuditEvents derived from it (issue 11;
-- docs/adr/0017-audit-records-per-interaction.md). audit_trail keeps three kinds of rows, told
-- apart by what its hashed columns hold, so the chain covers the kind as it covers the content:
--  - a whole AuditEvent (every row before this migration; an interaction about at most one
--    patient): content is the event, at most one patient;
--  - a record (an interaction about two patients or more): content is the AuditEvent without its
--    patient entity, whose id is the record's; `patients` lists them all (two or more); `sp` holds
--    the index of everything but the parameters `patient` and `entity`;
--  - a patient row (one per patient of a record): content is {"record":"<record id>","entity":<the
--    patient entity>}, the row's id is the served AuditEvent's id, `patients` is that patient, and
--    `sp` holds the served event's `patient` and `entity` entries only.
-- AuditEvent is served from the view audit_events below (src/storage/table-names.ts).

-- The id of the row holding a served row's interaction: a patient row's record (named at the start
-- of its content), or the row itself. LEAKPROOF (it never fails, whatever the text) and plpgsql so
-- that it is not inlined: under row-level security the view's join can then probe audit_trail's id
-- index per row; with a non-LEAKPROOF join key (a json cast) PostgreSQL hashed the whole trail.
CREATE OR REPLACE FUNCTION hearth_audit_interaction_id(content text, id text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  rest text;
BEGIN
  IF left(content, 11) = '{"record":"' THEN
    rest := substr(content, 12);
    RETURN left(rest, greatest(strpos(rest, '"') - 1, 0));
  END IF;
  RETURN id;
END
$fn$;

DO $$
BEGIN
  ALTER FUNCTION hearth_audit_interaction_id(text, text) LEAKPROOF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'Hearth: could not mark hearth_audit_interaction_id LEAKPROOF (needs a superuser); AuditEvent pages will scan the trail under row-level security. Run as a superuser: ALTER FUNCTION hearth_audit_interaction_id(text, text) LEAKPROOF;';
END
$$;

-- One row per whole event or patient row, each joined to the row holding its interaction — a
-- patient row's record, a whole event itself — so that the view is one join, which PostgreSQL
-- flattens: pages walk audit_trail's primary key in order and containments reach its GIN index (a
-- UNION ALL with a join in one branch is planned apart and sorted whole). The join is on
-- (tenant_id, id) only, through audit_trail_id_idx: with `recorded` in it too, the planner
-- multiplied two selectivities of what is one key and hashed the whole trail (a 20-event page of a
-- 1.6M-row trail took 23 s; on the id with this LEAKPROOF key, 8-11 ms). A patient row's event is
-- its record's with the row's id spliced in and its patient entity appended to the entities
-- (string concatenation; the record's content ends with the entity array). `sp` is the
-- interaction's index and `event_sp` the event's own `patient` and `entity` entries (table-names.ts
-- indexColumns); for a whole event both are its `sp`. So a search about one patient never matches
-- another patient's event of the same interaction. security_invoker: the caller's row-level
-- security on audit_trail applies.
CREATE VIEW audit_events WITH (security_invoker = true) AS
  SELECT e.tenant_id, e.id, e.version_id, e.last_updated, e.deleted,
         CASE WHEN e.id = i.id THEN e.content
              ELSE '{"resourceType":"AuditEvent","id":"' || e.id || substr(i.content, 36 + length(i.id), length(i.content) - 37 - length(i.id)) ||
                   ',' || ((e.content::json) -> 'entity')::text || ']}' END COLLATE "default" AS content,
         i.sp, e.sp AS event_sp, e.recorded, e.patients
  FROM audit_trail e
  JOIN audit_trail i ON i.tenant_id = e.tenant_id AND i.id = hearth_audit_interaction_id(e.content, e.id)
  WHERE cardinality(e.patients) < 2;
GRANT SELECT ON audit_events TO hearth_app;

-- History and vread read the served events too (0014's view read audit_trail's rows).
CREATE OR REPLACE VIEW audit_trail_history WITH (security_invoker = true) AS
  SELECT tenant_id, id, version_id, recorded AS last_updated, deleted, content,
         'POST'::text AS method, 201::smallint AS status
  FROM audit_events;
GRANT SELECT ON audit_trail_history TO hearth_app;
