// Recomputes the search index (`sp`) of stored resources, in batches, for operators
// (`hearth reindex`): rows written before the index existed, or after the set of search
// parameters changed. Runs as the owning role over all tenants.
import type pg from 'pg';
import { RESOURCE_TYPES } from '../../core/resource-types.js';
import type { JsonObject } from '../../core/types.js';
import { reindexRefusal, tablesFor } from '../table-names.js';

export interface ReindexOptions {
  types?: readonly string[];
  /** Only rows whose index is missing (default) or every row. */
  onlyMissing?: boolean;
  batchSize?: number;
  onProgress?: (type: string, done: number) => void;
}

/** The indexer for a tenant's rows: R4 plus that tenant's custom SearchParameters. */
export type TenantIndexer = (tenantId: string) => Promise<(resource: JsonObject) => object>;

/**
 * Stores recomputed indexes, one statement per batch. The version guard skips rows rewritten
 * since they were read: their writer indexed them.
 */
export async function writeIndexes(
  db: Pick<pg.Pool | pg.PoolClient, 'query'>,
  type: string,
  rows: readonly { tenant_id: string; id: string; version_id: number }[],
  indexes: readonly string[],
): Promise<void> {
  const refusal = reindexRefusal(type);
  if (refusal) throw new Error(refusal);
  await db.query(
    `UPDATE ${tablesFor(type).current} AS c SET sp = u.sp::jsonb FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS u(tenant_id, id, version_id, sp) ` +
      'WHERE c.tenant_id = u.tenant_id AND c.id = u.id AND c.version_id = u.version_id',
    [rows.map((r) => r.tenant_id), rows.map((r) => r.id), rows.map((r) => r.version_id), indexes],
  );
}

export async function reindex(pool: pg.Pool, indexer: TenantIndexer, options: ReindexOptions = {}): Promise<number> {
  let total = 0;
  for (const type of options.types ?? RESOURCE_TYPES) {
    // AuditEvent (audit_trail): indexed once at append; its trigger refuses every UPDATE.
    if (reindexRefusal(type)) continue;
    total += await reindexType(pool, type, indexer, options);
  }
  return total;
}

async function reindexType(pool: pg.Pool, type: string, indexerFor: TenantIndexer, options: ReindexOptions): Promise<number> {
  const t = tablesFor(type);
  const batch = options.batchSize ?? 500;
  const missingOnly = options.onlyMissing ?? true ? 'AND sp IS NULL' : '';
  let after: [string, string] = ['', ''];
  let done = 0;
  for (;;) {
    const { rows } = await pool.query<{ tenant_id: string; id: string; version_id: number; content: string }>(
      `SELECT tenant_id, id, version_id, content FROM ${t.current} WHERE NOT deleted ${missingOnly} ` +
        `AND (tenant_id, id) > ($1, $2) ORDER BY tenant_id, id LIMIT $3`,
      [after[0], after[1], batch],
    );
    if (rows.length === 0) return done;
    const indexes: string[] = [];
    for (const r of rows) indexes.push(JSON.stringify((await indexerFor(r.tenant_id))(JSON.parse(r.content) as JsonObject)));
    await writeIndexes(pool, type, rows, indexes);
    done += rows.length;
    options.onProgress?.(type, done);
    const last = rows[rows.length - 1];
    after = [last.tenant_id, last.id];
  }
}
