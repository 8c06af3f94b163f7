// Statistics and GIN pending lists behind writes (src/storage/pg/table-maintenance.ts,
// docs/scaling.md): a table that took enough rows is analyzed (partitioned parent included)
// and its pending lists merged; a bulk load's settle() vacuums and analyzes.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { TableMaintenance } from '../../src/storage/pg/table-maintenance.js';
import { createHash } from 'node:crypto';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

function patient(id: string) {
  return {
    resourceType: 'Patient', id, versionId: 1, lastUpdated: new Date(), deleted: false,
    content: JSON.stringify({ resourceType: 'Patient', id }), method: 'PUT' as const, status: 201,
    searchIndex: { name: [`n-${id}`], 'name:prefix': [`n-${id}`.slice(0, 4)] },
  };
}

async function analyzeCount(pool: pg.Pool, table: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT coalesce(analyze_count, 0)::int AS n FROM pg_stat_all_tables WHERE relid = $1::regclass', [table]);
  return rows[0]?.n ?? 0;
}

/** Pages waiting in the pending lists of the GIN indexes of `table`'s partitions (pgstattuple). */
async function pendingPages(pool: pg.Pool, table: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT coalesce(sum((pgstatginindex(i.indexrelid)).pending_pages), 0)::int AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'gin' AND c.relkind = 'i' AND i.indrelid IN (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf)`,
    [table],
  );
  return rows[0].n;
}

/**
 * A tenant with partitions of its own, autovacuum off on its Patient partition, so that only
 * the maintenance under test analyzes it (migration 0002 names partitions by the tenant's md5).
 */
async function isolatedTenant(pool: pg.Pool): Promise<{ tenant: string; leaf: string }> {
  const tenant = await newTenant(pool, { dedicatedPartition: true });
  const leaf = `patient_p_${createHash('md5').update(tenant).digest('hex').slice(0, 12)}`;
  await pool.query(`ALTER TABLE "${leaf}" SET (autovacuum_enabled = false)`);
  return { tenant, leaf };
}

describe('table maintenance (integration)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
    await pool.query('CREATE EXTENSION IF NOT EXISTS pgstattuple');
  });

  it('analyzes a table once enough rows were written to it, and merges its GIN pending lists', async () => {
    const { tenant, leaf } = await isolatedTenant(pool);
    const maintenance = new TableMaintenance(pool, { minRows: 40, fraction: 0, quietMs: 0 });
    // A huge pending-list limit: nothing merges the list but the maintenance.
    const repo = new PgRepository(pool, { maintenance, ginPendingListLimitKb: 1048576 });
    const before = await analyzeCount(pool, leaf);
    await repo.withTenant(tenant, (s) => s.writeVersions(Array.from({ length: 30 }, (_, i) => patient(`a${i}`))));
    await maintenance.idle();
    assert.equal(await analyzeCount(pool, leaf), before, '30 rows are below the threshold');
    assert.ok((await pendingPages(pool, leaf)) > 0, 'the new entries wait in the pending list');
    await repo.withTenant(tenant, (s) => s.writeVersions(Array.from({ length: 20 }, (_, i) => patient(`b${i}`))));
    await maintenance.idle();
    assert.equal(await analyzeCount(pool, leaf), before + 1, 'analyzed once the threshold was passed');
    assert.equal(await pendingPages(pool, leaf), 0, 'pending lists merged');
    const parent = await pool.query("SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'patient' AND inherited");
    assert.ok(parent.rows[0].n > 0, 'the partitioned parent has statistics of its own');
    await maintenance.close();
  });

  it('merges the pending lists once writes to a table pause, without analyzing it', async () => {
    const { tenant, leaf } = await isolatedTenant(pool);
    const maintenance = new TableMaintenance(pool, { minRows: 1000, fraction: 0, quietMs: 500 });
    const repo = new PgRepository(pool, { maintenance, ginPendingListLimitKb: 1048576 });
    const before = await analyzeCount(pool, leaf);
    await repo.withTenant(tenant, (s) => s.writeVersions(Array.from({ length: 30 }, (_, i) => patient(`q${i}`))));
    assert.ok((await pendingPages(pool, leaf)) > 0, 'the new entries wait in the pending list');
    for (let i = 0; i < 200 && (await pendingPages(pool, leaf)) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    await maintenance.idle();
    assert.equal(await pendingPages(pool, leaf), 0, 'merged after the pause');
    assert.equal(await analyzeCount(pool, leaf), before, 'far below the analyze threshold');
    await maintenance.close();
  });

  it('does nothing automatically when turned off, but settle() vacuums and analyzes what was written', async () => {
    const { tenant, leaf } = await isolatedTenant(pool);
    const maintenance = new TableMaintenance(pool, { minRows: 0, fraction: 0.1 });
    const repo = new PgRepository(pool, { maintenance, ginPendingListLimitKb: 1048576 });
    const before = await analyzeCount(pool, leaf);
    await repo.withTenant(tenant, (s) => s.writeVersions(Array.from({ length: 50 }, (_, i) => patient(`c${i}`))));
    await maintenance.idle();
    assert.equal(await analyzeCount(pool, leaf), before);
    assert.ok((await pendingPages(pool, leaf)) > 0);
    assert.deepEqual([...maintenance.touched], ['Patient']);
    await maintenance.settle(maintenance.touched);
    assert.equal(await analyzeCount(pool, leaf), before + 1);
    assert.equal(await pendingPages(pool, leaf), 0);
    await maintenance.close();
  });
});
