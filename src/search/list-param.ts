// `_list` (FHIR R4 search.html#list): `Patient?_list=42` matches the Patients that the entries
// of List/42 refer to (`List.entry.item.reference`, relative `Patient/id`, also in its versioned
// form `Patient/id/_history/v`), for a live List of the same tenant. Comma-separated ids are
// OR'ed (the union of the Lists). Functional lists (`$current-allergies`, ...) are not supported.
//
// SQL: the List rows are found by primary key and their references read from `content`, once
// (an uncorrelated subquery, an InitPlan), so the search itself is a primary-key lookup:
//   r.id = ANY(ARRAY(SELECT <id of ref> FROM "list" l, <references of l> WHERE <ref is Type/id>))
//   -> Index Scan using patient_pkey, Index Cond: ((tenant_id = $1) AND (id = ANY ($InitPlan)))
import { FhirError, badRequest } from '../core/errors.js';
import { isValidId } from '../core/ids.js';
import { tablesFor } from '../storage/table-names.js';
import type { ListFilter } from './query.js';
import type { SqlBinds } from './types.js';
import { liveRows, type RowsContext } from './live-rows.js';

/** Parses `_list[:modifier]=id[,id]`; a 400 naming the parameter otherwise. */
export function parseListFilter(name: string, modifier: string | undefined, value: string): ListFilter {
  if (modifier !== undefined) throw badRequest(`Modifier ':${modifier}' is not valid for _list`, [name]);
  const listIds = value.split(',');
  if (listIds.some((id) => id.startsWith('$'))) {
    throw new FhirError(400, { code: 'not-supported', diagnostics: `_list: functional lists such as '$current-allergies' are not supported`, expression: [name] });
  }
  if (listIds.some((id) => id === '')) throw badRequest('_list needs the id of a List', [name]);
  const bad = listIds.find((id) => !isValidId(id));
  if (bad !== undefined) throw badRequest(`_list: '${bad.slice(0, 70)}' is not a valid List id`, [name]);
  return { kind: 'list', listIds: [...new Set(listIds)] };
}

/**
 * `alias` is a row of resource type `type`; `rows` gives the tenant's placeholder, the binds and
 * the caller's reach. A List the caller cannot read ('r') contributes nothing, as if absent.
 */
export function listSql(filter: ListFilter, alias: string, type: string, rows: RowsContext, listAlias: string): string {
  const binds: SqlBinds = rows.binds;
  const ref = `${listAlias}_ref`;
  // `Type/id` or `Type/id/_history/v` (split_part, like _has: a regex costs ~50 µs per reference).
  const part = (n: number) => `split_part(${ref}, '/', ${n})`;
  return (
    `${alias}.id = ANY(ARRAY(SELECT ${part(2)} FROM ${tablesFor('List').current} ${listAlias} ` +
    `CROSS JOIN LATERAL jsonb_array_elements_text(jsonb_path_query_array(${listAlias}.content::jsonb, 'lax $.entry[*].item.reference')) AS ${ref} ` +
    `WHERE ${liveRows(listAlias, 'List', rows, 'r')} AND ${listAlias}.id = ANY(${binds.add(filter.listIds)}::text[]) ` +
    `AND ${part(1)} = ${binds.add(type)}::text AND (${part(3)} = '' OR (${part(3)} = '_history' AND ${part(5)} = ''))))`
  );
}
