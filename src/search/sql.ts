// SearchQuery -> SQL over one current resource table (FHIR R4 search.html). Identifiers come
// only from the type registry and the parameter modules; every value is a bind parameter.
import { badRequest } from '../core/errors.js';
import { isValidId } from '../core/ids.js';
import { isResourceType } from '../core/resource-types.js';
import { indexColumn, tablesFor } from '../storage/table-names.js';
import { decodeCursor, type Cursor, type CursorDirection, type CursorValue } from './cursor.js';
import { moduleFor } from './params/modules.js';
import { listSql } from './list-param.js';
import { textSql } from './text-search.js';
import { sortExpression as dateSort, type DateQuery } from './params/date.js';
import { sortExpression as numberSort } from './params/number.js';
import { sortExpression as quantitySort } from './params/quantity.js';
import { sortExpression as referenceSort } from './params/reference.js';
import { sortExpression as stringSort } from './params/string.js';
import { sortExpression as tokenSort } from './params/token.js';
import { sortExpression as uriSort } from './params/uri.js';
import type { ChainFilter, Filter, HasFilter, SearchQuery, SortKey } from './query.js';
import type { SearchParamDef, SqlBinds } from './types.js';
import type { SearchSql } from '../storage/search-sql.js';
import { searchSql } from './search-sql.js';
import { liveRows, type RowsContext } from './live-rows.js';
import { FULL_READ_SCOPE, reachForMatches, type ReadScope } from './reach.js';

const ALIAS = 'r';

/** A statement for ResourceStore.query. */
export interface SearchStatement {
  text: SearchSql;
  values: unknown[];
}

export class Binds implements SqlBinds {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** `sp`-shaped jsonb for a last_updated column, so _lastUpdated reuses the date module. */
const lastUpdatedSp = (alias: string) =>
  `jsonb_build_object('_lastUpdated', jsonb_build_array(jsonb_build_array(floor(extract(epoch from ${alias}.last_updated) * 1000), floor(extract(epoch from ${alias}.last_updated) * 1000) + 1)))`;

/** What nested filters need besides binds: the tenant placeholder, the caller's reach (liveRows) and fresh aliases. */
interface FilterContext extends RowsContext {
  binds: Binds;
  lastUpdatedDef?: SearchParamDef;
  nextAlias: () => string;
}

/** `alias` is a row of resource type `type`. */
function filterSql(filter: Filter, alias: string, type: string, ctx: FilterContext): string {
  switch (filter.kind) {
    case 'id': {
      const test = `${alias}.id = ANY(${ctx.binds.add(filter.ids)}::text[])`;
      return filter.negate ? `NOT (${test})` : test;
    }
    case 'lastUpdated': {
      const date = moduleFor('date');
      if (!date || !ctx.lastUpdatedDef) throw new Error('date module missing');
      return date.predicate(ctx.lastUpdatedDef, undefined, filter.values, lastUpdatedSp(alias), ctx.binds);
    }
    case 'index': {
      const module = moduleFor(filter.def.type);
      if (!module) throw new Error(`no module for ${filter.def.type}`);
      const predicate = module.predicate(filter.def, filter.modifier, filter.values, indexColumn(alias, type, filter.def.code), ctx.binds);
      const bounds = instantColumnBounds(filter, alias, type, ctx.binds);
      return bounds ? `(${bounds}) AND (${predicate})` : predicate;
    }
    case 'chain':
      return chainSql(filter, alias, type, ctx);
    case 'has':
      return hasSql(filter, alias, type, ctx);
    case 'compartment':
      // One GIN-indexable containment probe per compartment parameter, OR'ed.
      return filter.defs
        .map((def) => `${indexColumn(alias, type, def.code)} @> jsonb_build_object(${ctx.binds.add(def.code)}::text, jsonb_build_array(${ctx.binds.add(filter.reference)}::text))`)
        .join(' OR ');
    case 'text':
      return textSql(filter, alias, ctx.binds);
    case 'list':
      return listSql(filter, alias, type, ctx, ctx.nextAlias());
  }
}

/** One millisecond of slack: the index holds recorded to the millisecond, the column to the microsecond. */
const SLACK_MS = 1;
/** Beyond this, a JavaScript Date (and an ISO instant) cannot say it: no bound from such a value. */
const MAX_EPOCH_MS = 8.64e15;

/**
 * A date filter on the parameter a column holds (tablesFor().instantSort: AuditEvent's `date`
 * = audit_trail.recorded) also bounds the column, so the primary key (tenant_id, recorded, id)
 * finds the rows of a time window and partitions outside it are skipped. The bounds are a
 * superset of the prefix's matches (search.html#prefix over the entry [recorded, recorded +
 * 1 ms)); the index predicate beside them stays exact. `ne` bounds nothing; a filter of several
 * values (OR) is bounded by their union.
 */
function instantColumnBounds(filter: Extract<Filter, { kind: 'index' }>, alias: string, type: string, binds: Binds): string | undefined {
  const instant = tablesFor(type).instantSort;
  const def = filter.def;
  if (!instant || filter.modifier !== undefined || def.type !== 'date' || def.resourceType !== type || def.code !== instant.code || def.expression !== instant.expression) return undefined;
  let low: number | undefined = Infinity;
  let high: number | undefined = -Infinity;
  for (const value of filter.values as DateQuery[]) {
    const [from, to] = recordedRange(value);
    low = low === undefined || from === undefined ? undefined : Math.min(low, from);
    high = high === undefined || to === undefined ? undefined : Math.max(high, to);
  }
  const column = `${alias}.${instant.column}`;
  const parts: string[] = [];
  if (low !== undefined && Math.abs(low) < MAX_EPOCH_MS) parts.push(`${column} >= ${binds.add(new Date(low - SLACK_MS).toISOString())}::timestamptz`);
  if (high !== undefined && Math.abs(high) < MAX_EPOCH_MS) parts.push(`${column} < ${binds.add(new Date(high + SLACK_MS).toISOString())}::timestamptz`);
  return parts.length === 0 ? undefined : parts.join(' AND ');
}

/** The recorded times [from, to) (ms) a date prefix can match; undefined: unbounded on that side. */
function recordedRange(q: DateQuery): [number | undefined, number | undefined] {
  switch (q.prefix) {
    case 'eq': return [q.lo, q.hi];
    case 'ge': return [q.lo, undefined];
    case 'gt': case 'sa': return [q.hi, undefined];
    case 'le': return [undefined, q.hi];
    case 'lt': case 'eb': return [undefined, q.lo];
    case 'ap': return [q.approxLo, q.approxHi];
    case 'ne': return [undefined, undefined];
  }
}

/** A row-count guard for a probe's LATERAL subquery: the LIMIT keeps PostgreSQL from flattening it into a join. */
const PROBE_ROWS_MAX = 1_000_000;

/**
 * search.html#chaining: `alias` (of type `type`) refers, through the chained parameter, to some
 * target resource matching `inner`. plan.ts first lists the matching targets (own statement):
 * - a few: one containment probe per target, each a GIN Bitmap Index Scan (LATERAL with LIMIT,
 *   so the planner cannot turn the probes into a join filter over the whole table);
 * - up to plan.ts's limit: membership of the reference entries in the listed set (`?|`), for a
 *   walk in sort order that stops after a page (many targets = many matching rows);
 * - more: per candidate row, a primary-key lookup of its target (correlated; OFFSET 0 keeps it
 *   a per-row subplan rather than a join over every target).
 * Unplanned (nested chains): containment of ANY of the matching targets' entries.
 */
function chainSql(filter: ChainFilter, alias: string, type: string, ctx: FilterContext): string {
  const c = ctx.nextAlias();
  // Bound only where used: an unused placeholder has no type and fails the statement.
  const code = () => `${ctx.binds.add(filter.def.code)}::text`;
  const targets = tablesFor(filter.targetType).current;
  const resolved = filter.resolved;
  if (resolved && resolved !== 'correlated') {
    if (resolved.probe) {
      const probes = resolved.refs.map((ref) => JSON.stringify({ [filter.def.code]: [ref] }));
      return (
        `${alias}.id = ANY(ARRAY(SELECT ${c}_m.id FROM unnest(${ctx.binds.add(probes)}::jsonb[]) AS ${c}_p(probe) CROSS JOIN LATERAL ` +
        `(SELECT ${c}.id FROM ${tablesFor(type).current} ${c} WHERE ${liveRows(c, type, ctx, 's')} AND ${indexColumn(c, type, filter.def.code)} @> ${c}_p.probe ` +
        `LIMIT ${PROBE_ROWS_MAX}) AS ${c}_m))`
      );
    }
    return `(${indexColumn(alias, type, filter.def.code)} -> ${code()}) ?| ${ctx.binds.add(resolved.refs)}::text[]`;
  }
  if (resolved === 'correlated') {
    // OFFSET 0 keeps it a per-row subplan rather than a join over every target.
    return (
      `EXISTS (SELECT 1 FROM ${targets} ${c} WHERE ${liveRows(c, filter.targetType, ctx, 's')} ` +
      `AND ${c}.id = ANY(ARRAY(SELECT split_part(${c}_ref, '/', 2) FROM jsonb_array_elements_text(${indexColumn(alias, type, filter.def.code)} -> ${code()}) AS ${c}_ref ` +
      `WHERE split_part(${c}_ref, '/', 1) = ${ctx.binds.add(filter.targetType)}::text AND split_part(${c}_ref, '/', 3) = '')) ` +
      `AND (${filterSql(filter.inner, c, filter.targetType, ctx)}) OFFSET 0)`
    );
  }
  const probe = `jsonb_build_object(${code()}, jsonb_build_array(${ctx.binds.add(`${filter.targetType}/`)}::text || ${c}.id))`;
  return (
    `${indexColumn(alias, type, filter.def.code)} @> ANY(ARRAY(SELECT ${probe} FROM ${targets} ${c} WHERE ${liveRows(c, filter.targetType, ctx, 's')} ` +
    `AND (${filterSql(filter.inner, c, filter.targetType, ctx)})))`
  );
}

/**
 * search.html#has: some `sourceType` resource matching `inner` refers to `alias`. plan.ts lists
 * the matching sources first: when few, their targets become an `_id` filter; when many, each
 * candidate row is probed (correlated, one GIN lookup for "refers to me" AND the inner filter,
 * OFFSET 0 keeping it per row) while walking in sort order. Unplanned (nested): the set of ids
 * the matching sources refer to, computed once.
 */
function hasSql(filter: HasFilter, alias: string, type: string, ctx: FilterContext): string {
  const h = ctx.nextAlias();
  const table = tablesFor(filter.sourceType).current;
  const code = `${ctx.binds.add(filter.referenceDef.code)}::text`;
  if (filter.resolved === 'correlated') {
    // The probe alone inside its own OFFSET 0 fence, the inner filter outside it: otherwise
    // PostgreSQL may scan the index for the inner filter (100,000 rows per candidate at 1M)
    // rather than for "refers to me" (tens of rows). The probe is built by a LEAKPROOF function
    // (migration 0007) so that it can be an index condition under row-level security.
    return (
      `EXISTS (SELECT 1 FROM (SELECT ${h}.* FROM ${table} ${h} WHERE ${liveRows(h, filter.sourceType, ctx, 's')} ` +
      `AND ${indexColumn(h, filter.sourceType, filter.referenceDef.code)} @> hearth_reference_probe(${code}, ${ctx.binds.add(type)}::text, ${alias}.id) OFFSET 0) ${h} ` +
      `WHERE (${filterSql(filter.inner, h, filter.sourceType, ctx)}))`
    );
  }
  return (
    `${alias}.id = ANY(ARRAY(SELECT DISTINCT split_part(${h}_ref, '/', 2) FROM ${table} ${h} ` +
    `CROSS JOIN LATERAL jsonb_array_elements_text(${indexColumn(h, filter.sourceType, filter.referenceDef.code)} -> ${code}) AS ${h}_ref ` +
    `WHERE ${liveRows(h, filter.sourceType, ctx, 's')} AND split_part(${h}_ref, '/', 1) = ${ctx.binds.add(type)}::text ` +
    `AND split_part(${h}_ref, '/', 3) = '' AND (${filterSql(filter.inner, h, filter.sourceType, ctx)})))`
  );
}

/**
 * For plan.ts: up to `limit` live resources of `type` matching `filter` — their ids and, when
 * `refsOf` is given, that parameter's reference entries.
 */
export function matchingRowsStatement(
  type: string,
  filter: Filter,
  tenantId: string,
  limit: number,
  lastUpdatedDef?: SearchParamDef,
  refsOf?: string,
  scope: ReadScope = FULL_READ_SCOPE,
): SearchStatement {
  const binds = new Binds();
  const tenant = binds.add(tenantId);
  let n = 0;
  const ctx: FilterContext = { binds, tenant, scope, lastUpdatedDef, nextAlias: () => `p${++n}` };
  const refs = refsOf ? `, ${indexColumn(ALIAS, type, refsOf)} -> ${binds.add(refsOf)}::text AS refs` : '';
  const where = filterSql(filter, ALIAS, type, ctx);
  const text =
    `SELECT ${ALIAS}.id${refs} FROM ${tablesFor(type).current} ${ALIAS} WHERE ${liveRows(ALIAS, type, ctx, 's')} ` +
    `AND (${where}) LIMIT ${binds.add(limit)}`;
  return { text: searchSql(text), values: binds.values };
}

/** The WHERE conditions shared by page and count queries. */
export function whereClause(query: SearchQuery, tenantBind: string, binds: Binds, lastUpdatedDef?: SearchParamDef, scope: ReadScope = FULL_READ_SCOPE): string {
  let n = 0;
  const ctx: FilterContext = { binds, tenant: tenantBind, scope, lastUpdatedDef, nextAlias: () => `j${++n}` };
  // The searched rows' constraint may be implied by the query's own filters (reachForMatches);
  // nested statements (chains, _has, _list) keep the full scope through ctx.
  const matchScope: ReadScope = scope.unrestricted ? scope : { unrestricted: false, reach: (type, letters) => (type === query.resourceType ? reachForMatches(scope.reach(type, letters), query.filters) : scope.reach(type, letters)) };
  const conditions = [liveRows(ALIAS, query.resourceType, { ...ctx, scope: matchScope }, 's')];
  for (const filter of query.filters) conditions.push(`(${filterSql(filter, ALIAS, query.resourceType, ctx)})`);
  return conditions.join(' AND ');
}

interface SortColumn {
  expression: string;
  direction: 'asc' | 'desc';
  /** Substitute for NULL so keyset comparisons stay total (missing values sort last). */
  nullValue: string;
  /**
   * How a cursor value for this column is bound and checked: a number, a resource id, any
   * string (text sort keys), or a resource type (system search).
   */
  kind: 'numeric' | 'id' | 'text' | 'type' | 'instant';
  /** System search: the branch's resource type, a constant compared here rather than in SQL. */
  constant?: string;
  /** What the page selects as the cursor value, when not `expression` itself (instant: exact text). */
  keyExpression?: string;
}

type SortExpression = (def: SearchParamDef, sp: string, direction: 'asc' | 'desc') => string;
const TEXT_SORTS: Partial<Record<SearchParamDef['type'], SortExpression>> = { string: stringSort, token: tokenSort, reference: referenceSort, uri: uriSort };
const NUMERIC_SORTS: Partial<Record<SearchParamDef['type'], SortExpression>> = { date: dateSort, number: numberSort, quantity: quantitySort };

/**
 * A sort by a date parameter whose value is a column of the table (tablesFor().instantSort:
 * AuditEvent's `date` = audit_trail.recorded): ordered by the column itself, so the primary
 * key (tenant_id, recorded, id) yields the pages and the next page starts at the cursor
 * (keyset on (recorded, id)) instead of reading past the pages before it. The cursor holds
 * the instant to the microsecond (PostgreSQL's precision), so no row is skipped or repeated.
 */
function instantSortColumn(def: SearchParamDef, dir: 'asc' | 'desc', type: string | undefined, selective: boolean): SortColumn | undefined {
  const instant = type === undefined ? undefined : tablesFor(type).instantSort;
  if (!instant || def.resourceType !== type || def.code !== instant.code || def.expression !== instant.expression) return undefined;
  const column = `${ALIAS}.${instant.column}`;
  return {
    // With a filter naming particular resources (patient=, agent=, entity=: few rows), an order
    // the primary key cannot give, so the planner takes the GIN index and sorts the matches:
    // walking the key backward for a rare patient read the tenant's whole trail (998 ms at
    // 200,000 events). Same order, same keyset.
    expression: selective ? `(${column} + interval '0 seconds')` : column,
    direction: dir,
    nullValue: 'NULL', // the column is NOT NULL
    kind: 'instant',
    keyExpression: `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
  };
}

/** `type`: the searched type of a type-level search (undefined in a system search's branches, which must sort alike). */
function sortColumn(key: SortKey, type?: string, selective = false): SortColumn {
  const dir = key.direction;
  if (key.param === '_id') return { expression: `${ALIAS}.id`, direction: dir, nullValue: "''", kind: 'id' };
  if (key.param === '_lastUpdated') {
    return { expression: `floor(extract(epoch from ${ALIAS}.last_updated) * 1000)`, direction: dir, nullValue: '0::numeric', kind: 'numeric' };
  }
  const def = key.param;
  const instant = def.type === 'date' ? instantSortColumn(def, dir, type, selective) : undefined;
  if (instant) return instant;
  const sp = indexColumn(ALIAS, def.resourceType, def.code);
  const text = TEXT_SORTS[def.type];
  if (text) {
    // Missing values last (search.html#sort leaves it to the server; numbers do the same). No
    // string sorts after every other, so NULL cannot just be replaced as for numbers: present
    // values get the prefix '1' and missing ones are '2' (asc) or '0' (desc), byte-wise. The
    // order stays total for keyset paging and the cursor holds the prefixed value.
    const missing = dir === 'asc' ? "'2'" : "'0'";
    return { expression: `(COALESCE('1' || ${text(def, sp, dir)}, ${missing}) COLLATE "C")`, direction: dir, nullValue: missing, kind: 'text' };
  }
  const numeric = NUMERIC_SORTS[def.type];
  if (!numeric) throw new Error(`no sort order for ${def.type} parameters`); // parse-query refuses them
  const missing = dir === 'asc' ? "'Infinity'::numeric" : "'-Infinity'::numeric";
  return { expression: `COALESCE((${numeric(def, sp, dir)})::numeric, ${missing})`, direction: dir, nullValue: missing, kind: 'numeric' };
}

/** A resource type as a SQL literal; only names from the R4 type list (like table names). */
function typeLiteral(type: string): string {
  if (!isResourceType(type)) throw new Error(`not a resource type: ${JSON.stringify(type)}`);
  return `'${type}'::text`;
}

/**
 * Sort columns, ending with the id so the order is total (needed for keyset paging). Keys after
 * `_id` cannot change the order (ids are unique within a type), so they are dropped. In a system
 * search (`branchType`) ids are unique only within a type, so the type is a key as well: just
 * after `_id` when that is a sort key, else just before the final id.
 */
export function sortColumns(query: SearchQuery, branchType?: string, options: PageOptions = {}): SortColumn[] {
  const idAt = query.sort.findIndex((k) => k.param === '_id');
  const selective = query.filters.some(pointsAtResources);
  const columns = (idAt < 0 ? query.sort : query.sort.slice(0, idAt)).map((key) => sortColumn(key, branchType === undefined ? query.resourceType : undefined, selective));
  // After a column sort (instantSortColumn) the id follows its direction, so the order is the
  // primary key's (tenant_id, recorded, id), walked forward or backward.
  const last = columns[columns.length - 1];
  const id = sortColumn(idAt < 0 ? { param: '_id', direction: last?.kind === 'instant' ? last.direction : 'asc' } : query.sort[idAt]);
  if (query.sort.length === 0 && (options.onIndex || query.filters.some(pointsAtResources))) {
    // PostgreSQL cannot estimate jsonb @> well, so for `Observation?patient=X` it walks the
    // primary key in id order hoping to stop early and reads the whole table instead (5.96 s on
    // 1,000,000 Observations, against 0.74 ms through the GIN index). An order the primary key
    // cannot provide keeps such searches on the index. Only for filters naming particular
    // resources, which match few rows: for a broad token (code=8867-4, 100,000 rows) the
    // planner's early-stopping walk is right (2.5 ms, against 531 ms through the index).
    id.expression = `(${ALIAS}.id || '')`;
  }
  if (branchType === undefined) {
    columns.push(id);
    return columns;
  }
  const type: SortColumn = {
    expression: `(${typeLiteral(branchType)} COLLATE "C")`,
    direction: id.direction,
    nullValue: "''",
    kind: 'type',
    constant: branchType,
  };
  columns.push(...(idAt < 0 ? [type, id] : [id, type]));
  return columns;
}

export interface PageOptions {
  /**
   * Order by an expression the primary key cannot provide, so the filters' GIN lookups find the
   * rows (indexWalkEligible): for a value too rare for a walk in id order to fill a page.
   */
  onIndex?: boolean;
  /** The caller's data constraint (reach.ts); absent: none (administrators, internal callers). */
  scope?: ReadScope;
}

/** Filters that restrict to resources referring to particular resources: selective by nature. */
function pointsAtResources(filter: Filter): boolean {
  // Not chains: `sp @> ANY(probes)` is not answered by the GIN index, so forcing it off the
  // primary-key walk turns a slow search into a scan (measured at 1,000,000 resources).
  if (filter.kind === 'compartment') return true;
  // A chain planned to a few targets: its probes yield a small id set (plan.ts).
  if (filter.kind === 'chain' && filter.resolved !== undefined && filter.resolved !== 'correlated') return filter.resolved.probe;
  return filter.kind === 'index' && filter.def.type === 'reference' && filter.modifier !== 'missing';
}

/** A constant column's comparison with the cursor value, decided here (type names are ASCII: JS order = byte order). */
function constantHolds(constant: string, value: CursorValue, op: '=' | '>' | '<'): boolean {
  const other = String(value);
  return op === '=' ? constant === other : op === '>' ? constant > other : constant < other;
}

/**
 * Rows strictly after (or before) the cursor in the sort order: (a > x) OR (a = x AND b > y) ...
 * A constant column (the branch's type in a system search) drops the terms it makes false and
 * leaves out the comparisons it makes true, so each branch gets only the conditions that apply.
 */
function keysetCondition(columns: SortColumn[], cursor: CursorValue[], direction: CursorDirection, binds: Binds): string {
  if (columns.length === 2 && columns[0].kind === 'instant' && columns[0].direction === columns[1].direction) {
    // (recorded, id) > (x, y) as one row comparison: an index condition on the primary key
    // (tenant_id, recorded, id), so a deep page starts at the cursor. Both columns are NOT NULL,
    // so it is the same test as the expanded form below.
    const op = (columns[0].direction === 'asc') === (direction === 'after') ? '>' : '<';
    return `((${columns[0].expression}, ${columns[1].expression}) ${op} (${bindTyped(cursor[0], columns[0], binds)}, ${bindTyped(cursor[1], columns[1], binds)}))`;
  }
  const terms: string[] = [];
  for (let i = 0; i < columns.length; i++) {
    const forward = (columns[i].direction === 'asc') === (direction === 'after');
    const op = forward ? '>' : '<';
    const possible = columns.slice(0, i + 1).every((c, j) => c.constant === undefined || constantHolds(c.constant, cursor[j], j === i ? op : '='));
    if (!possible) continue;
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      if (columns[j].constant === undefined) parts.push(`${columns[j].expression} = ${bindTyped(cursor[j], columns[j], binds)}`);
    }
    if (columns[i].constant === undefined) parts.push(`${columns[i].expression} ${op} ${bindTyped(cursor[i], columns[i], binds)}`);
    terms.push(parts.length === 0 ? 'TRUE' : `(${parts.join(' AND ')})`);
  }
  return terms.length === 0 ? 'FALSE' : `(${terms.join(' OR ')})`;
}

function bindTyped(value: CursorValue, column: SortColumn, binds: Binds): string {
  if (value === null) return column.nullValue;
  if (column.kind === 'instant') return `${binds.add(value)}::timestamptz`;
  return column.kind === 'numeric' ? `${binds.add(String(value))}::numeric` : `${binds.add(value)}::text`;
}

/** A number PostgreSQL's numeric accepts without overflow, or its infinities (sort sentinels). */
const CURSOR_NUMBER = /^(-?\d{1,40}(\.\d{1,40})?([eE][+-]?\d{1,3})?|-?Infinity)$/;
/** An instant as instantSortColumn selects it (years 1 to 9999, microseconds, UTC). */
const CURSOR_INSTANT = /^(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{6}Z$/;

function cursorValueFits(column: SortColumn, value: CursorValue): boolean {
  switch (column.kind) {
    case 'numeric':
      return value === null || CURSOR_NUMBER.test(String(value));
    case 'id':
      return value === null || (typeof value === 'string' && isValidId(value));
    case 'text':
      // Any string a text sort key can hold (bound, never spliced); PostgreSQL text cannot hold NUL.
      return value === null || (typeof value === 'string' && !value.includes('\u0000'));
    case 'type':
      return typeof value === 'string' && isResourceType(value);
    case 'instant':
      // A real calendar date as well (PostgreSQL refuses 02-30 with an error, not a 400).
      return typeof value === 'string' && CURSOR_INSTANT.test(value) && new Date(`${value.slice(0, 23)}Z`).toISOString().slice(0, 23) === value.slice(0, 23);
  }
}

/** A cursor is client input: every value must fit its column, else 400 (never a SQL error). */
function checkCursor(columns: SortColumn[], cursor: CursorValue[]): CursorValue[] {
  if (!cursor.every((value, i) => cursorValueFits(columns[i], value))) {
    throw badRequest('_page is not a valid paging cursor for this search (use the links the server returned)', ['_page']);
  }
  return cursor;
}

function readCursor(page: string | undefined, columns: SortColumn[]): Cursor | undefined {
  if (page === undefined) return undefined;
  const cursor = decodeCursor(page, columns.length);
  return { direction: cursor.direction, values: checkCursor(columns, cursor.values) };
}

export interface PageStatement extends SearchStatement {
  sortColumnCount: number;
  /** 'before' pages are read in reverse order; the caller flips them back. */
  direction: CursorDirection;
}

const flip = (d: 'asc' | 'desc', direction: CursorDirection) => (direction === 'after' ? d : d === 'asc' ? 'desc' : 'asc');

/**
 * One type's rows for a page: its filters, the keyset condition, ORDER BY and LIMIT (count + 1,
 * so the caller knows whether a next page exists). `head` adds leading select columns.
 */
function pageSelect(
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
    `WHERE ${whereClause(query, tenant, binds, lastUpdatedDef, scope)} ORDER BY ${order} LIMIT ${binds.add(query.count + 1)}`;
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
  return query.filters.some((f) => answeredByGin(f, query.resourceType));
}

export function countStatement(query: SearchQuery, tenantId: string, lastUpdatedDef?: SearchParamDef, scope: ReadScope = FULL_READ_SCOPE): SearchStatement {
  const binds = new Binds();
  const t = tablesFor(query.resourceType);
  const text = `SELECT count(*)::bigint AS n FROM ${t.current} ${ALIAS} WHERE ${whereClause(query, binds.add(tenantId), binds, lastUpdatedDef, scope)}`;
  return { text: searchSql(text), values: binds.values };
}

// ---------------------------------------------------------------------------------------
// System search (http.html#search, search.html#all): one type-level query per type, with the
// same filters and result parameters, each parsed against its own type.

export interface SystemBranch {
  query: SearchQuery;
  lastUpdatedDef?: SearchParamDef;
}

/**
 * One page of a system search: the type-level page selects, each with its own ORDER BY ...
 * LIMIT so each can stop early, combined with UNION ALL, then ordered and limited again. The
 * order is total across types (see sortColumns), so keyset paging stays exact while others
 * write. Rows carry their type in `resource_type`. Every branch has the same page, count and
 * sort keys (same codes, same parameter types: parse-query checks).
 */
export function systemPageStatement(branches: readonly SystemBranch[], tenantId: string, scope: ReadScope = FULL_READ_SCOPE): PageStatement {
  if (branches.length === 0) throw new Error('a system search needs at least one type');
  const { page, count } = branches[0].query;
  const binds = new Binds();
  const tenant = binds.add(tenantId);
  const limit = binds.add(count + 1);
  const columns = branches.map((b) => sortColumns(b.query, b.query.resourceType));
  const kinds = columns[0].map((c) => c.kind).join();
  if (columns.some((list) => list.map((c) => c.kind).join() !== kinds)) throw new Error('system search branches sort differently');
  const cursor = readCursor(page, columns[0]);
  const direction = cursor?.direction ?? 'after';
  const selects = branches.map((b, i) => {
    const head = `${typeLiteral(b.query.resourceType)} AS resource_type, `;
    return `(${pageSelect(b.query, columns[i], tenant, cursor, binds, b.lastUpdatedDef, scope, head, limit)})`;
  });
  // Text and type keys compare byte-wise in every branch; said again for the union's columns.
  const order = columns[0]
    .map((c, i) => `u.k${i}${c.kind === 'text' || c.kind === 'type' ? ' COLLATE "C"' : ''} ${flip(c.direction, direction).toUpperCase()}`)
    .join(', ');
  const text = `SELECT * FROM (${selects.join(' UNION ALL ')}) u ORDER BY ${order} LIMIT ${limit}`;
  return { text: searchSql(text), values: binds.values, sortColumnCount: columns[0].length, direction };
}

/** _total of a system search: the matches of every branch. */
export function systemCountStatement(branches: readonly SystemBranch[], tenantId: string, scope: ReadScope = FULL_READ_SCOPE): SearchStatement {
  const binds = new Binds();
  const tenant = binds.add(tenantId);
  const parts = branches.map(
    (b) => `SELECT 1 FROM ${tablesFor(b.query.resourceType).current} ${ALIAS} WHERE ${whereClause(b.query, tenant, binds, b.lastUpdatedDef, scope)}`,
  );
  return { text: searchSql(`SELECT count(*)::bigint AS n FROM (${parts.join(' UNION ALL ')}) u`), values: binds.values };
}

/**
 * The types among `types` with at least one row (live or deleted) for the tenant: one primary
 * key probe each, so a system search without _type unions only those (docs/search.md).
 */
export function typesWithRowsStatement(types: readonly string[], tenantId: string, scope: ReadScope = FULL_READ_SCOPE): SearchStatement {
  if (!scope.unrestricted) {
    // Under a data constraint, only types with a row the caller may search: which types other
    // patients have must not change the answer (a system search's parameters are checked
    // against the types searched). One constrained probe per type the caller reaches at all.
    const binds = new Binds();
    const rows = { tenant: binds.add(tenantId), binds, scope };
    const reached = types.filter((type) => scope.reach(type, ['s']).kind !== 'none');
    if (reached.length === 0) return { text: searchSql(`SELECT NULL::text AS resource_type WHERE FALSE`), values: [] };
    const probes = reached.map(
      (type) => `SELECT ${typeLiteral(type)} AS resource_type WHERE EXISTS (SELECT 1 FROM ${tablesFor(type).current} r WHERE ${liveRows('r', type, rows, 's')})`,
    );
    return { text: searchSql(probes.join(' UNION ALL ')), values: binds.values };
  }
  const parts = types.map((type) => `SELECT ${typeLiteral(type)} AS resource_type WHERE EXISTS (SELECT 1 FROM ${tablesFor(type).current} WHERE tenant_id = $1)`);
  return { text: searchSql(parts.join(' UNION ALL ')), values: [tenantId] };
}
