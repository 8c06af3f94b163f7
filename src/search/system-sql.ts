// System search (FHIR R4 http.html#search, search.html#all): one type-level query per type, with
// the same filters and result parameters, each parsed against its own type, combined into one
// page and one count.
import { tablesFor } from '../storage/table-names.js';
import type { SearchQuery } from './query.js';
import type { SearchParamDef } from './types.js';
import { searchSql } from './search-sql.js';
import { liveRows } from './live-rows.js';
import { FULL_READ_SCOPE, type ReadScope } from './reach.js';
import { ALIAS, Binds, whereClause, type SearchStatement } from './where-sql.js';
import { readCursor, sortColumns, typeLiteral } from './sort-sql.js';
import { flip, pageSelect, type PageStatement } from './sql.js';

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
