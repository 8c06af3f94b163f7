-- String search (src/search/params/string.ts) now also stores "<code>:prefix" entries: the first
-- 2, 3, 4, 6 and 8 characters of every normalized string, so that the default prefix match has a
-- GIN condition (`sp @> {"name:prefix": ["smi"]}`) instead of testing every row with
-- `starts with`. A search reads these entries, so rows indexed before this migration get them
-- here; the normalized strings are already stored under "<code>". String parameters are the ones
-- with a "<code>:exact" key. The lengths must match PREFIX_LENGTHS in string.ts.
-- Runs as the tables' owner, to whom row-level security does not apply. On a large database this
-- rewrites every row that has a string entry (Patient, Practitioner, Organization, ...): about
-- a minute per million such rows.
CREATE OR REPLACE FUNCTION hearth_prefix_entries(sp jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT coalesce(jsonb_object_agg(k.key || ':prefix', (
           SELECT jsonb_agg(DISTINCT left(s.v, n.len))
           FROM jsonb_array_elements(k.value) AS e(v0)
           CROSS JOIN LATERAL (SELECT e.v0 #>> '{}' AS v) AS s
           CROSS JOIN unnest(ARRAY[2, 3, 4, 6, 8]) AS n(len)
           WHERE jsonb_typeof(e.v0) = 'string' AND char_length(s.v) >= n.len)),
         '{}'::jsonb)
  FROM jsonb_each(sp) AS k
  WHERE jsonb_typeof(k.value) = 'array'
    AND sp ? (k.key || ':exact')
    AND EXISTS (SELECT 1 FROM jsonb_array_elements(k.value) AS e(v0)
                WHERE jsonb_typeof(e.v0) = 'string' AND char_length(e.v0 #>> '{}') >= 2)
$fn$;

DO $$
DECLARE
  t text;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'sp' AND NOT a.attisdropped
    WHERE c.relnamespace = current_schema()::regnamespace
      AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  LOOP
    EXECUTE format(
      'UPDATE %I SET sp = sp || hearth_prefix_entries(sp) '
      'WHERE sp IS NOT NULL AND hearth_prefix_entries(sp) <> ''{}''::jsonb', t);
  END LOOP;
END
$$;

DROP FUNCTION hearth_prefix_entries(jsonb);
