-- A reverse chain probed per candidate row (src/search/sql.ts, correlated _has) asks the GIN
-- index for `sp @> {"<code>": ["<Type>/<candidate id>"]}`. Built inline with jsonb_build_object
-- and `||`, which are not LEAKPROOF, the condition cannot be an index condition under row-level
-- security, and each candidate scans the source table (32 s for one page at 1,000,000
-- resources). Built by this function, marked LEAKPROOF (it cannot raise an error for any
-- input), it is one index probe per candidate. plpgsql so that it is not inlined (an inlined
-- body would expose the non-LEAKPROOF functions again). Marking needs a superuser; without one
-- this only warns and such searches stay correct but slow.
CREATE OR REPLACE FUNCTION hearth_reference_probe(code text, target_type text, id text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  RETURN jsonb_build_object(code, jsonb_build_array(target_type || '/' || id));
END
$fn$;

DO $$
BEGIN
  ALTER FUNCTION hearth_reference_probe(text, text, text) LEAKPROOF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'Hearth: could not mark hearth_reference_probe LEAKPROOF (needs a superuser); broad _has searches will scan under row-level security. Run as a superuser: ALTER FUNCTION hearth_reference_probe(text, text, text) LEAKPROOF;';
END
$$;
