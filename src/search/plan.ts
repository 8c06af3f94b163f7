// Planning of chains and reverse chains (FHIR R4 search.html#chaining, #has): before the page
// statement is built, each top-level chain or _has filter runs its inner search on its own
// (at most PLAN_LIMIT + 1 rows), and the count decides the SQL shape sql.ts writes for it.
// PostgreSQL cannot estimate jsonb containment, so it cannot make this choice itself: it
// either probes a huge set row by row or scans a table to find a handful of rows (seconds
// either way at 1,000,000 resources; docs/benchmarks.md has the plans).
//   chain, n targets:   n <= CHAIN_PROBE_MAX  one GIN probe per target
//                       n <= PLAN_LIMIT       set membership while walking in sort order
//                       more                  per-row lookup of the target while walking
//   _has, n sources:    n <= PLAN_LIMIT       the ids they refer to, as an _id filter
//                       more                  per-row GIN probe "some source refers to me"
// Listing even PLAN_LIMIT + 1 matches of a broad inner search costs tens of ms (a GIN bitmap of
// all 100,000 matches is built first), where the page itself then takes under 1 ms. So an
// id-ordered page first walks a few rows in page order with every join correlated
// (joinWalkEligible, engine.ts); a full page found that way is exact, and only a selective join,
// whose listing is cheap, gets planned.
import type { ResourceStore } from '../storage/resource-store.js';
import type { ChainFilter, Filter, HasFilter, SearchQuery } from './query.js';
import { matchingRowsStatement } from './where-sql.js';
import { FULL_READ_SCOPE, type ReadScope } from './reach.js';
import type { SearchParamDef } from './types.js';

/** Inner matches listed in full up to this many; beyond it the correlated shapes are used. */
export const PLAN_LIMIT = 1000;
/** Chain targets up to this many are probed one GIN lookup each; more are matched while walking. */
export const CHAIN_PROBE_MAX = 20;

/** `scope`: the caller's reach (reach.ts); a probe lists only targets and sources the caller may search. */
/** `limit`: inner matches listed in full up to this many (PLAN_LIMIT; fewer for a quick look, see JOIN_QUICK_LIST_LIMIT). */
export async function planJoins(store: ResourceStore, query: SearchQuery, lastUpdatedDef?: SearchParamDef, scope: ReadScope = FULL_READ_SCOPE, limit = PLAN_LIMIT): Promise<SearchQuery> {
  if (!query.filters.some((f) => f.kind === 'chain' || f.kind === 'has')) return query;
  const filters: Filter[] = [];
  for (const filter of query.filters) {
    if (filter.kind === 'chain') filters.push(await planChain(store, filter, scope, limit, lastUpdatedDef));
    else if (filter.kind === 'has') filters.push(await planHas(store, filter, query.resourceType, scope, limit, lastUpdatedDef));
    else filters.push(filter);
  }
  return { ...query, filters };
}

async function planChain(store: ResourceStore, filter: ChainFilter, scope: ReadScope, limit: number, lastUpdatedDef?: SearchParamDef): Promise<ChainFilter> {
  const statement = matchingRowsStatement(filter.targetType, filter.inner, store.tenantId, limit + 1, lastUpdatedDef, undefined, scope);
  const rows = await store.query<{ id: string }>(statement.text, statement.values);
  if (rows.length > limit) return { ...filter, resolved: 'correlated' };
  return { ...filter, resolved: { refs: rows.map((r) => `${filter.targetType}/${r.id}`), probe: rows.length <= CHAIN_PROBE_MAX } };
}

async function planHas(store: ResourceStore, filter: HasFilter, type: string, scope: ReadScope, limit: number, lastUpdatedDef?: SearchParamDef): Promise<Filter> {
  const statement = matchingRowsStatement(filter.sourceType, filter.inner, store.tenantId, limit + 1, lastUpdatedDef, filter.referenceDef.code, scope);
  const rows = await store.query<{ id: string; refs: unknown }>(statement.text, statement.values);
  if (rows.length > limit) return { ...filter, resolved: 'correlated' };
  const ids = new Set<string>();
  for (const row of rows) {
    for (const ref of Array.isArray(row.refs) ? row.refs : []) {
      // Relative 'Type/id' entries only, as the unplanned SQL (and the matcher) take them.
      const parts = typeof ref === 'string' ? ref.split('/') : [];
      if (parts.length === 2 && parts[0] === type && parts[1] !== '') ids.add(parts[1]);
    }
  }
  return { kind: 'id', ids: [...ids].sort(), negate: false };
}

/** Every top-level chain and _has as its per-row (correlated) shape, for a bounded walk. */
export function correlateJoins(query: SearchQuery): SearchQuery {
  const filters = query.filters.map((f): Filter => (f.kind === 'chain' || f.kind === 'has' ? { ...f, resolved: 'correlated' } : f));
  return { ...query, filters };
}

/**
 * When a join walk's first rows hold no match, each join's inner matches are listed up to this
 * many: a join with few sources or targets (a rare code where most patients have nothing) is then
 * answered by one exact lookup, where a longer walk would probe row after row and find nothing
 * (docs/benchmarks.md, issue 14).
 */
export const JOIN_QUICK_LIST_LIMIT = 100;

/** Whether every top-level chain and _has of `query` was listed (none left to correlate). */
export function joinsListed(query: SearchQuery): boolean {
  return query.filters.every((f) => (f.kind !== 'chain' && f.kind !== 'has') || (f.kind === 'chain' && f.resolved !== undefined && f.resolved !== 'correlated'));
}

/**
 * Rows a join walk reads first per row of the page: enough to see whether matches are dense
 * (then the page is there) and to measure their density when they are not. (2 and 5 were
 * measured and lost: where the first ids in page order hold no match, a shorter walk only sends
 * a broad join to its listing sooner; docs/benchmarks.md, issue 14.)
 */
export const JOIN_WALK_ROWS_PER_MATCH = 10;
/**
 * A walk that found some matches but not a page walks once more, as far as the density it saw
 * says a page lies (with half again to spare), when that is within this many rows per match.
 */
export const JOIN_WALK_MAX_ROWS_PER_MATCH = 50;

/**
 * Pages worth a join walk first: in id order (the primary key gives the walk order), with a
 * chain or _has at the top level, and no total to count (a count needs the planned shapes).
 */
export function joinWalkEligible(query: SearchQuery): boolean {
  if (query.count === 0 || query.total !== 'none' || query.sort.some((k) => k.param !== '_id')) return false;
  return query.filters.some((f) => f.kind === 'chain' || f.kind === 'has');
}
