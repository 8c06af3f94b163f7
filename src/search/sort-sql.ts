// ORDER BY and keyset paging of a search (FHIR R4 search.html#sort, #count): the sort columns of
// a query (its _sort keys, then a total order), and the cursor a page link carries, checked
// against those columns before it reaches SQL.
import { badRequest } from '../core/errors.js';
import { isValidId } from '../core/ids.js';
import { isResourceType } from '../core/resource-types.js';
import { indexColumn, tablesFor } from '../storage/table-names.js';
import { decodeCursor, type Cursor, type CursorDirection, type CursorValue } from './cursor.js';
import { moduleFor } from './params/modules.js';
import type { Filter, SearchQuery, SortKey } from './query.js';
import type { SearchParamDef } from './types.js';
import type { ReadScope } from './reach.js';
import { ALIAS, type Binds } from './where-sql.js';


export interface SortColumn {
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
  const sort = moduleFor(def.type)?.sort;
  if (!sort) throw new Error(`no sort order for ${def.type} parameters`); // parse-query refuses them
  if (sort.kind === 'text') {
    // Missing values last (search.html#sort leaves it to the server; numbers do the same). No
    // string sorts after every other, so NULL cannot just be replaced as for numbers: present
    // values get the prefix '1' and missing ones are '2' (asc) or '0' (desc), byte-wise. The
    // order stays total for keyset paging and the cursor holds the prefixed value.
    const missing = dir === 'asc' ? "'2'" : "'0'";
    return { expression: `(COALESCE('1' || ${sort.expression(def, sp, dir)}, ${missing}) COLLATE "C")`, direction: dir, nullValue: missing, kind: 'text' };
  }
  const missing = dir === 'asc' ? "'Infinity'::numeric" : "'-Infinity'::numeric";
  return { expression: `COALESCE((${sort.expression(def, sp, dir)})::numeric, ${missing})`, direction: dir, nullValue: missing, kind: 'numeric' };
}

/** A resource type as a SQL literal; only names from the R4 type list (like table names). */
export function typeLiteral(type: string): string {
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
export function pointsAtResources(filter: Filter): boolean {
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
export function keysetCondition(columns: SortColumn[], cursor: CursorValue[], direction: CursorDirection, binds: Binds): string {
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

export function readCursor(page: string | undefined, columns: SortColumn[]): Cursor | undefined {
  if (page === undefined) return undefined;
  const cursor = decodeCursor(page, columns.length);
  return { direction: cursor.direction, values: checkCursor(columns, cursor.values) };
}
