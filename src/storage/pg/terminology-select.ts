// Concept selection in SQL (ValueSet compose filters, FHIR R4 valueset.html#filters and
// codesystem.html#filters): one WHERE clause over concept alias `k` of one code system version,
// values only as binds, table names only from terminology-tables.ts.
//
// Properties: `concept` (and `code`) is the hierarchy for is-a/descendent-of/is-not-a/
// generalizes and the code itself for =/in/not-in/regex; `display` is the display; `parent` and
// `child` are the is-a edges; `inactive` (and `status`) the active flag; anything else is a
// concept property, compared by its text (a Coding's code).
import type { CodeSystemRef, ConceptFilter, ConceptSelection } from '../terminology-store.js';
import { type StatementBinds, tablesOf, versionRows } from './terminology-tables.js';

export class UnsupportedFilter extends Error {
  override name = 'UnsupportedFilter';
}

const HIERARCHY = new Set(['concept', 'code']);

/** `value` split on commas (filter `in`/`not-in` take a comma-separated list). */
const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter((v) => v !== '');

/** FHIR regexes match the entire value (valueset.html#filters). */
const anchored = (binds: StatementBinds, pattern: string): string => `('^(?:' || ${binds.add(pattern)} || ')$')`;

function hierarchyFilter(cs: CodeSystemRef, tenantId: string, filter: ConceptFilter, binds: StatementBinds): string {
  const closure = tablesOf(cs.scope).closure;
  const rows = () => versionRows(cs, tenantId, 'cl', binds);
  switch (filter.op) {
    case 'is-a':
      return `k.code IN (SELECT cl.descendant FROM ${closure} cl WHERE ${rows()} AND cl.ancestor = ${binds.add(filter.value)})`;
    case 'descendent-of':
      return `k.code IN (SELECT cl.descendant FROM ${closure} cl WHERE ${rows()} AND cl.ancestor = ${binds.add(filter.value)} AND cl.descendant <> cl.ancestor)`;
    case 'is-not-a':
      return `k.code NOT IN (SELECT cl.descendant FROM ${closure} cl WHERE ${rows()} AND cl.ancestor = ${binds.add(filter.value)})`;
    case 'generalizes':
      return `k.code IN (SELECT cl.ancestor FROM ${closure} cl WHERE ${rows()} AND cl.descendant = ${binds.add(filter.value)})`;
    case '=':
      return `k.code = ${binds.add(filter.value)}`;
    case 'in':
      return `k.code = ANY(${binds.add(list(filter.value))}::text[])`;
    case 'not-in':
      return `k.code <> ALL(${binds.add(list(filter.value))}::text[])`;
    case 'regex':
      return `k.code ~ ${anchored(binds, filter.value)}`;
    case 'exists':
      return filter.value === 'false' ? 'false' : 'true';
  }
}

function edgeFilter(cs: CodeSystemRef, tenantId: string, filter: ConceptFilter, binds: StatementBinds): string {
  const parent = tablesOf(cs.scope).parent;
  // `parent = X`: concepts whose parent is X; `child = X`: concepts whose child is X.
  const [self, other] = filter.property === 'parent' ? ['child', 'parent'] : ['parent', 'child'];
  const edges = (condition: string) => `EXISTS (SELECT 1 FROM ${parent} p WHERE ${versionRows(cs, tenantId, 'p', binds)} AND p.${self} = k.code${condition})`;
  switch (filter.op) {
    case '=':
      return edges(` AND p.${other} = ${binds.add(filter.value)}`);
    case 'in':
      return edges(` AND p.${other} = ANY(${binds.add(list(filter.value))}::text[])`);
    case 'not-in':
      return `NOT ${edges(` AND p.${other} = ANY(${binds.add(list(filter.value))}::text[])`)}`;
    case 'exists':
      return filter.value === 'false' ? `NOT ${edges('')}` : edges('');
    default:
      throw new UnsupportedFilter(`The filter operator '${filter.op}' does not apply to the property '${filter.property}'`);
  }
}

function textFilter(column: string, filter: ConceptFilter, binds: StatementBinds): string {
  switch (filter.op) {
    case '=':
      return `${column} = ${binds.add(filter.value)}`;
    case 'in':
      return `${column} = ANY(${binds.add(list(filter.value))}::text[])`;
    case 'not-in':
      return `(${column} IS NULL OR ${column} <> ALL(${binds.add(list(filter.value))}::text[]))`;
    case 'regex':
      return `${column} ~ ${anchored(binds, filter.value)}`;
    case 'exists':
      return filter.value === 'false' ? `${column} IS NULL` : `${column} IS NOT NULL`;
    default:
      throw new UnsupportedFilter(`The filter operator '${filter.op}' does not apply to the property '${filter.property}'`);
  }
}

function propertyFilter(filter: ConceptFilter, binds: StatementBinds): string {
  const values = (condition: string) =>
    `EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(k.properties, '[]'::jsonb)) e WHERE e->>'code' = ${binds.add(filter.property)}${condition})`;
  switch (filter.op) {
    case '=':
      return values(` AND e->>'text' = ${binds.add(filter.value)}`);
    case 'in':
      return values(` AND e->>'text' = ANY(${binds.add(list(filter.value))}::text[])`);
    case 'not-in':
      return `NOT ${values(` AND e->>'text' = ANY(${binds.add(list(filter.value))}::text[])`)}`;
    case 'regex':
      return values(` AND e->>'text' ~ ${anchored(binds, filter.value)}`);
    case 'exists':
      return filter.value === 'false' ? `NOT ${values('')}` : values('');
    default:
      throw new UnsupportedFilter(`The filter operator '${filter.op}' does not apply to the property '${filter.property}'`);
  }
}

function activeFilter(filter: ConceptFilter): string {
  // `inactive = true` / `status = retired|inactive`: the concepts marked not active.
  if (filter.op !== '=') throw new UnsupportedFilter(`Only '=' applies to the property '${filter.property}'`);
  const wantsInactive = filter.property === 'inactive' ? filter.value === 'true' : filter.value !== 'active';
  return wantsInactive ? 'NOT k.active' : 'k.active';
}

export function filterCondition(cs: CodeSystemRef, tenantId: string, filter: ConceptFilter, binds: StatementBinds): string {
  if (HIERARCHY.has(filter.property)) return hierarchyFilter(cs, tenantId, filter, binds);
  if (filter.op === 'is-a' || filter.op === 'descendent-of' || filter.op === 'is-not-a' || filter.op === 'generalizes') {
    throw new UnsupportedFilter(`The filter operator '${filter.op}' applies to the property 'concept' only, not '${filter.property}'`);
  }
  if (filter.property === 'parent' || filter.property === 'child') return edgeFilter(cs, tenantId, filter, binds);
  if (filter.property === 'display') return textFilter('k.display', filter, binds);
  if (filter.property === 'inactive' || filter.property === 'status') return activeFilter(filter);
  return propertyFilter(filter, binds);
}

/** Lower-cased words of a text filter (letters and digits only, so they need no escaping in LIKE). */
export function filterWords(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '');
}

/** Each word of `text` starts a word of `column` (lower-cased; words split on anything but letters and digits). */
export function textMatch(column: string, text: string, binds: StatementBinds): string {
  return wordsMatch(normalizedWords(column), text, binds);
}

/** SQL turning `column` into the form of searchWords(): ' word word …'. */
export const normalizedWords = (column: string) => `(' ' || lower(regexp_replace(${column}, '[^[:alnum:]]+', ' ', 'g')))`;

/** Each word of `text` starts a word of `haystack`, an SQL text in the form of searchWords(). */
export function wordsMatch(haystack: string, text: string, binds: StatementBinds): string {
  const words = filterWords(text);
  if (words.length === 0) return 'true';
  return words.map((w) => `${haystack} LIKE ${binds.add(`% ${w}%`)}`).join(' AND ');
}

/** A display and code as the words a text filter matches, each after a space (stored with cached expansion codes). */
export function searchWords(display: string | undefined, code: string): string {
  return ` ${filterWords(`${display ?? ''} ${code}`).join(' ')}`;
}

/** The WHERE clause over `k` (a concept row) for a selection. */
export function selectionWhere(cs: CodeSystemRef, tenantId: string, selection: Omit<ConceptSelection, 'limit' | 'offset'>, binds: StatementBinds): string {
  const conditions = [versionRows(cs, tenantId, 'k', binds)];
  if (selection.codes) conditions.push(`k.code = ANY(${binds.add(selection.codes)}::text[])`);
  for (const filter of selection.filters ?? []) conditions.push(filterCondition(cs, tenantId, filter, binds));
  if (selection.activeOnly) conditions.push('k.active');
  if (selection.text) conditions.push(textMatch(`(coalesce(k.display, '') || ' ' || k.code)`, selection.text, binds));
  return conditions.join(' AND ');
}
