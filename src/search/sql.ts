// SearchQuery -> the page and count statements over one current resource table (FHIR R4
// search.html): WHERE from where-sql.ts, ORDER BY and the cursor from sort-sql.ts; whether a
// query is read by walking the table or an index first. System search is system-sql.ts.
// Identifiers come only from the type registry and the parameter modules; every value is a
// bind parameter.
import { tablesFor } from '../storage/table-names.js';
import type { Cursor, CursorDirection } from './cursor.js';
import type { Filter, SearchQuery } from './query.js';
import type { SearchParamDef } from './types.js';
import { searchSql } from './search-sql.js';
import { liveRows } from './live-rows.js';
import { FULL_READ_SCOPE, type ReadScope } from './reach.js';
import { ALIAS, Binds, filterSql, whereClause, type SearchStatement } from './where-sql.js';
import { keysetCondition, pointsAtResources, readCursor, sortColumns, type PageOptions, type SortColumn } from './sort-sql.js';


export interface PageStatement extends SearchStatement {
  sortColumnCount: number;
  /** 'before' pages are read in reverse order; the caller flips them back. */
  direction: CursorDirection;
}

export const flip = (d: 'asc' | 'desc', direction: CursorDirection) => (direction === 'after' ? d : d === 'asc' ? 'desc' : 'asc');

/**
 * One type's rows for a page: its filters, the keyset condition, ORDER BY and LIMIT (count + 1,
 * so the caller knows whether a next page exists). `head` adds leading select columns.
 */
export function pageSelect(
  query: SearchQuery,
  columns: SortColumn[],
  tenant: string,
  cursor: Cursor | undefined,
  binds: Binds,
  lastUpdatedDef: SearchParamDef | undefined,
  scope: ReadScope,
  head = '',
  limit?: string,
): string {
  const t = tablesFor(query.resourceType);
  const where = [whereClause(query, tenant, binds, lastUpdatedDef, scope)];
  const direction = cursor?.direction ?? 'after';
  if (cursor) where.push(keysetCondition(columns, cursor.values, direction, binds));
  const keys = columns.map((c, i) => `${c.keyExpression ?? c.expression} AS k${i}`).join(', ');
  // A constant column orders nothing within one type.
  const order = columns.filter((c) => c.constant === undefined).map((c) => `${c.expression} ${flip(c.direction, direction).toUpperCase()}`).join(', ');
  return (
    `SELECT ${head}${ALIAS}.id, ${ALIAS}.version_id, ${ALIAS}.last_updated, ${ALIAS}.content, ${keys} ` +
    `FROM ${t.current} ${ALIAS} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${limit ?? binds.add(query.count + 1)}`
  );
}

/** The statement for one page: count + 1 rows, so the caller knows whether a next page exists. */
export function pageStatement(query: SearchQuery, tenantId: string, lastUpdatedDef?: SearchParamDef, options: PageOptions = {}): PageStatement {
  const binds = new Binds();
  const tenant = binds.add(tenantId);
  const columns = sortColumns(query, undefined, options);
  const cursor = readCursor(query.page, columns);
  const text = pageSelect(query, columns, tenant, cursor, binds, lastUpdatedDef, options.scope ?? FULL_READ_SCOPE);
  return { text: searchSql(text), values: binds.values, sortColumnCount: columns.length, direction: cursor?.direction ?? 'after' };
}

/**
 * Walk-first (engine.ts): PostgreSQL estimates every jsonb containment at 1%, so for a broad
 * token plus a range test it fetches every row the token matches, tests each and sorts (6,000
 * rows for 50 at 61k), where a walk in id order would stop after about 1,200. This statement
 * walks at most `walkRows` rows of the page order and filters them: if it finds a full page,
 * that page is exact (the first matches in order lie within the rows walked); if not, the
 * caller runs the normal statement. Only for searches that qualify (walkFirstEligible).
 */
export function walkStatement(query: SearchQuery, tenantId: string, walkRows: number, lastUpdatedDef?: SearchParamDef, scope: ReadScope = FULL_READ_SCOPE): PageStatement {
  const binds = new Binds();
  const tenant = binds.add(tenantId);
  const columns = sortColumns(query);
  const cursor = readCursor(query.page, columns);
  const direction = cursor?.direction ?? 'after';
  const t = tablesFor(query.resourceType);
  const inner = [liveRows(ALIAS, query.resourceType, { tenant, binds, scope }, 's')];
  if (cursor) inner.push(keysetCondition(columns, cursor.values, direction, binds));
  const order = columns.map((c) => `${c.expression} ${flip(c.direction, direction).toUpperCase()}`).join(', ');
  const keys = columns.map((c, i) => `${c.keyExpression ?? c.expression} AS k${i}`).join(', ');
  const text =
    `SELECT ${ALIAS}.id, ${ALIAS}.version_id, ${ALIAS}.last_updated, ${ALIAS}.content, ${keys} ` +
    `FROM (SELECT * FROM ${t.current} ${ALIAS} WHERE ${inner.join(' AND ')} ORDER BY ${order} LIMIT ${binds.add(walkRows)}) ${ALIAS} ` +
    `WHERE ${whereClause(query, tenant, binds, lastUpdatedDef, scope, true)} ORDER BY ${order} LIMIT ${binds.add(query.count + 1)}`;
  return { text: searchSql(text), values: binds.values, sortColumnCount: columns.length, direction };
}

/** Range tests PostgreSQL cannot answer from an index, evaluated per row. */
const RANGE_TYPES: ReadonlySet<string> = new Set(['quantity', 'number', 'date']);

/**
 * Searches in id order (no sort key but _id) whose filters are index lookups plus at least one
 * range test, and none that names particular resources (those stay on the GIN index).
 */
export function walkFirstEligible(query: SearchQuery): boolean {
  if (query.count === 0 || query.sort.some((k) => k.param !== '_id')) return false;
  if (!query.filters.every((f) => f.kind === 'index' || f.kind === 'lastUpdated') || query.filters.some(pointsAtResources)) return false;
  return query.filters.some((f) => f.kind === 'index' && RANGE_TYPES.has(f.def.type) && f.modifier !== 'missing');
}

/** A filter's SQL made only of GIN-served containments (`sp @> $n::jsonb`, OR'ed). */
const GIN_ONLY = new RegExp(`^[\\s(]*${ALIAS}\\.[a-z_]*sp @> \\$\\d+::jsonb[\\s)]*(?:OR[\\s(]*${ALIAS}\\.[a-z_]*sp @> \\$\\d+::jsonb[\\s)]*)*$`);

function answeredByGin(filter: Filter, type: string): boolean {
  if (filter.kind !== 'index') return false;
  const text = filterSql(filter, ALIAS, type, { binds: new Binds(), tenant: '$1', scope: FULL_READ_SCOPE, nextAlias: () => 'x' });
  return GIN_ONLY.test(text);
}

/**
 * Searches in id order whose filters are index lookups, at least one answered by the GIN
 * index, none naming particular resources and no range test (walkFirstEligible has those).
 * PostgreSQL estimates every containment at 1% of the rows (the search index is too wide for
 * column statistics), so for these it walks the primary key in id order: right for a code in
 * most rows, a scan of the table for a code in few or none (124 ms for an absent code at 48,000
 * Observations, 10 req/s under load). So the engine walks a few rows itself first (a common
 * value fills the page there) and otherwise asks for the page in an order the primary key
 * cannot give (PageOptions.onIndex), which leaves the planner the GIN lookup.
 */
export function indexWalkEligible(query: SearchQuery): boolean {
  if (query.count === 0 || query.sort.some((k) => k.param !== '_id') || walkFirstEligible(query)) return false;
  if (!query.filters.every((f) => f.kind === 'index' || f.kind === 'lastUpdated') || query.filters.some(pointsAtResources)) return false;
  return query.filters.some((f) => answeredByGin(f, query.resourceType) || drawsCodesFromTerminology(f));
}

/** Modifiers whose codes come from concept storage (a closure or an expansion), GIN-served too. */
const TERMINOLOGY_PROBES: ReadonlySet<string> = new Set(['below', 'above', 'in']);

/**
 * A token filter whose codes are drawn from concept storage (`:below`, `:above`, `:in`): its GIN
 * probes are many, and PostgreSQL cannot know how many rows they match (it guesses a tenth of the
 * table and walks it in id order, reading all of it for a rare code: 6.6 s at 1M Observations),
 * so it is walked like the other GIN filters, only further (TERMINOLOGY_WALK_ROWS_PER_MATCH).
 */
export function drawsCodesFromTerminology(filter: Filter): boolean {
  return filter.kind === 'index' && filter.def.type === 'token' && filter.modifier !== undefined && TERMINOLOGY_PROBES.has(filter.modifier);
}

export function countStatement(query: SearchQuery, tenantId: string, lastUpdatedDef?: SearchParamDef, scope: ReadScope = FULL_READ_SCOPE): SearchStatement {
  const binds = new Binds();
  const t = tablesFor(query.resourceType);
  const text = `SELECT count(*)::bigint AS n FROM ${t.current} ${ALIAS} WHERE ${whereClause(query, binds.add(tenantId), binds, lastUpdatedDef, scope)}`;
  return { text: searchSql(text), values: binds.values };
}
