// The WHERE clause of a search over one current resource table (FHIR R4 search.html): each
// filter's predicate from its parameter module, chains and `_has` as subqueries, `_lastUpdated`
// on its column, and the caller's reach. Identifiers come only from the type registry and the
// parameter modules; every value is a bind parameter.
import { indexColumn, tablesFor } from '../storage/table-names.js';
import { moduleFor } from './params/modules.js';
import { listSql } from './list-param.js';
import { textSql } from './text-search.js';
import type { DateQuery } from './params/date.js';
import type { ChainFilter, Filter, HasFilter, SearchQuery } from './query.js';
import type { SearchParamDef, SqlBinds } from './types.js';
import type { SearchSql } from '../storage/search-sql.js';
import { searchSql } from './search-sql.js';
import { liveRows, type RowsContext } from './live-rows.js';
import { FULL_READ_SCOPE, reachForMatches, type ReadScope } from './reach.js';


/** The searched table's alias in every statement. */
export const ALIAS = 'r';

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
  /** The conditions test a bounded walk of rows (PredicateContext.rowTest). */
  rowTest?: boolean;
}

/** `alias` is a row of resource type `type`. */
export function filterSql(filter: Filter, alias: string, type: string, ctx: FilterContext): string {
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
      const predicate = module.predicate(filter.def, filter.modifier, filter.values, indexColumn(alias, type, filter.def.code), ctx.binds, {
        tenant: ctx.tenant,
        nextAlias: ctx.nextAlias,
        rowTest: ctx.rowTest,
      });
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
export function whereClause(
  query: SearchQuery,
  tenantBind: string,
  binds: Binds,
  lastUpdatedDef?: SearchParamDef,
  scope: ReadScope = FULL_READ_SCOPE,
  rowTest = false,
): string {
  let n = 0;
  const ctx: FilterContext = { binds, tenant: tenantBind, scope, lastUpdatedDef, nextAlias: () => `j${++n}`, rowTest };
  // The searched rows' constraint may be implied by the query's own filters (reachForMatches);
  // nested statements (chains, _has, _list) keep the full scope through ctx.
  const matchScope: ReadScope = scope.unrestricted ? scope : { unrestricted: false, reach: (type, letters) => (type === query.resourceType ? reachForMatches(scope.reach(type, letters), query.filters) : scope.reach(type, letters)) };
  const conditions = [liveRows(ALIAS, query.resourceType, { ...ctx, scope: matchScope }, 's')];
  for (const filter of query.filters) conditions.push(`(${filterSql(filter, ALIAS, query.resourceType, ctx)})`);
  return conditions.join(' AND ');
}
