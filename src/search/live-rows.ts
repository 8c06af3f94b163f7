// The one place search SQL opens a current resource table for an alias: the tenant (partition
// pruning and index use, on top of row-level security) and live rows only (a delete is a
// tombstone). Every search statement (pages, totals, includes, chains, _has, _list, plan probes)
// builds its row condition here, so that the access scope of the SMART issue is added once and
// no path can forget it (test/unit/search/live-rows.test.ts holds the others to it).
export function liveRows(alias: string, tenantBind: string): string {
  return `${alias}.tenant_id = ${tenantBind} AND NOT ${alias}.deleted`;
}
