// `_content` and `_text` (FHIR R4 search.html#content, #text) with PostgreSQL full text search.
//
// - `_content`: every string value of the resource, 'simple' configuration (lower-cased, no
//   stemming: codes, identifiers and names match as written).
// - `_text`: the narrative (`text.div`), 'english' configuration (stemmed: `fever` finds
//   "fevers"). XHTML tags and entities need no stripping pass: the default text search parser
//   reads them as `tag`/`entity` tokens, which no configuration indexes.
// A value is parsed by websearch_to_tsquery (words = AND, "quoted phrase", `or`, `-word`);
// comma-separated values are OR'ed (search.html: a comma is OR), repeated parameters AND'ed.
//
// Indexes: migration 0005 creates, on every current table, GIN indexes on exactly the
// expressions used here, hearth_content_tsvector(content) and hearth_narrative_tsvector(content)
// (IMMUTABLE plpgsql functions, see the migration for why plpgsql and LEAKPROOF). Verified
// plan (PostgreSQL 15, 60,000 Patients in 3 tenants, generated statement, app role under RLS):
//   Bitmap Heap Scan on patient_p_default r
//     Recheck Cond: ((hearth_content_tsvector(content) @@ '''fever'''::tsquery) AND (tenant_id = ...))
//     -> BitmapAnd (or the Bitmap Index Scan alone)
//          -> Bitmap Index Scan on patient_p_default_hearth_content_tsvector_idx
//               Index Cond: (hearth_content_tsvector(content) @@ '''fever'''::tsquery)
//          -> Bitmap Index Scan on patient_p_default_tenant_id_last_updated_idx
// 1.5 ms; for a word in most rows the planner walks the primary key instead, stopping at the
// page size (2 ms). Without the LEAKPROOF markings it always walks it: 1.2 s for a rare word.
import { badRequest } from '../core/errors.js';
import { splitUnescaped } from './params/shared.js';
import type { TextFilter, TextParam } from './query.js';
import type { SqlBinds } from './types.js';

/** The indexed expression (function of the `content` column) and its query configuration. */
const SEARCHES: Readonly<Record<TextParam, { fn: string; config: string }>> = {
  _content: { fn: 'hearth_content_tsvector', config: 'simple' },
  _text: { fn: 'hearth_narrative_tsvector', config: 'english' },
};

export const isTextParam = (code: string): code is TextParam => code === '_content' || code === '_text';

/**
 * Longest value (all comma-separated parts together). websearch_to_tsquery never rejects
 * syntax, but a very long query exhausts the stack (PostgreSQL: "stack depth limit exceeded"
 * at ~90,000 characters; PGlite fails earlier), so the bound keeps that a 400, far from it.
 */
export const MAX_TEXT_QUERY_LENGTH = 2048;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Parses `_content[:modifier]=value`; a 400 naming the parameter when it cannot be searched. */
export function parseTextFilter(param: TextParam, name: string, modifier: string | undefined, value: string): TextFilter {
  if (modifier !== undefined) throw badRequest(`Modifier ':${modifier}' is not valid for ${param}`, [name]);
  if (value.length > MAX_TEXT_QUERY_LENGTH) throw badRequest(`${param}: the value is longer than ${MAX_TEXT_QUERY_LENGTH} characters`, [name]);
  const queries = splitUnescaped(value, ',').map((q) => q.trim());
  if (queries.some((q) => q === '')) throw badRequest(`${param} needs a value (words to search for)`, [name]);
  // PostgreSQL text cannot hold NUL; lone surrogates are not text either.
  if (queries.some((q) => q.includes('\u0000') || LONE_SURROGATE.test(q))) throw badRequest(`${param}: the value contains invalid characters`, [name]);
  return { kind: 'text', param, queries };
}

/** `alias` is a row of a current resource table. One `@@` against one OR'ed tsquery: one index scan. */
export function textSql(filter: TextFilter, alias: string, binds: SqlBinds): string {
  const { fn, config } = SEARCHES[filter.param];
  const query = filter.queries.map((q) => `websearch_to_tsquery('${config}'::regconfig, ${binds.add(q)}::text)`).join(' || ');
  return `${fn}(${alias}.content) @@ (${query})`;
}
