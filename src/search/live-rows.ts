// The one place search SQL opens a current resource table for an alias: the tenant (partition
// pruning and index use, on top of row-level security), live rows only (a delete is a
// tombstone), and the caller's data constraint for that type (SMART scopes, issue 10: the
// launch patient's compartment, granular scope parameters; src/search/reach.ts). Every search
// statement (pages, totals, includes, chains, _has, _list, plan probes) builds its row condition
// here, so no path can forget the constraint (test/unit/search/live-rows.test.ts holds the others
// to it). The constraint sits in the statement's WHERE, so it applies before any LIMIT.
import type { Permission } from '../core/smart-scopes.js';
import { reachSql, type ReadScope } from './reach.js';
import type { SqlBinds } from './types.js';

/** What liveRows needs besides the alias and type: the tenant's placeholder, the binds, the access. */
export interface RowsContext {
  tenant: string;
  binds: SqlBinds;
  scope: ReadScope;
}

/**
 * Rows of `type` under `alias` that this statement may see: the tenant's live rows the caller
 * reaches through `letter` ('s' for matches, chain and _has hops; 'r' for included resources
 * and the Lists of _list).
 */
export function liveRows(alias: string, type: string, rows: RowsContext, letter: Permission): string {
  const base = `${alias}.tenant_id = ${rows.tenant} AND NOT ${alias}.deleted`;
  if (rows.scope.unrestricted) return base;
  const constraint = reachSql(rows.scope.reach(type, [letter]), alias, rows.binds);
  return constraint === undefined ? base : `${base} AND (${constraint})`;
}
