// The audit trail as AuditEvent's storage (issue 11 "Auditor access"; storage/table-names.ts):
// table maintenance counts appended events and analyzes audit_trail behind them like any
// resource table, and reindexing leaves the trail alone (its index is computed once at
// append; its trigger refuses every UPDATE), even for rows appended without an index.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import type { NewAuditRow } from '../../src/storage/audit-store.js';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { reindex, writeIndexes } from '../../src/storage/pg/reindex.js';
import { TableMaintenance } from '../../src/storage/pg/table-maintenance.js';
import { reindexRefusal, resourceTablesFor, tablesFor } from '../../src/storage/table-names.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

// A month no other test appends to, so its rows sit in the default partition with ours only.
const RECORDED = Date.parse('2031-07-01T00:00:00Z');

function rows(tenantId: string, count: number, sp: NewAuditRow['sp'] = { type: [{ s: null, c: 'rest' }] }): NewAuditRow[] {
  return Array.from({ length: count }, (_, i) => {
    const id = randomUUID();
    const recorded = new Date(RECORDED + i);
    return { tenantId, id, recorded, content: JSON.stringify({ resourceType: 'AuditEvent', id, recorded: recorded.toISOString() }), sp, patients: [] };
  });
}

async function analyzeCount(pool: pg.Pool, table: string): Promise<number> {
  const { rows: r } = await pool.query<{ n: number }>('SELECT coalesce(analyze_count, 0)::int AS n FROM pg_stat_all_tables WHERE relid = $1::regclass', [table]);
  return r[0]?.n ?? 0;
}

describe('the audit trail as AuditEvent storage (integration)', function () {
  this.timeout(60_000);
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });

  it('serves AuditEvent from audit_trail (through the view audit_events) while the DDL generators keep the generic tables', () => {
    assert.equal(tablesFor('AuditEvent').current, '"audit_events"');
    assert.equal(tablesFor('AuditEvent').stored, '"audit_trail"');
    assert.equal(tablesFor('AuditEvent').history, '"audit_trail_history"');
    assert.equal(resourceTablesFor('AuditEvent').current, '"audit_event"');
    assert.equal(tablesFor('Patient'), resourceTablesFor('Patient'));
    assert.match(reindexRefusal('AuditEvent') ?? '', /append-only/);
    assert.equal(reindexRefusal('Patient'), undefined);
  });

  it('analyzes audit_trail once enough events were appended through the tenant transaction', async () => {
    const tenant = await newTenant(pool);
    const maintenance = new TableMaintenance(pool, { minRows: 40, fraction: 0, quietMs: 0 });
    const repo = new PgRepository(pool, { maintenance, auditHasher });
    const before = await analyzeCount(pool, 'audit_trail_p_default');
    await repo.withTenant(tenant, (store) => store.audit.appendAuditEvents(rows(tenant, 50)));
    await maintenance.idle();
    assert.deepEqual([...maintenance.touched], ['AuditEvent']);
    assert.ok((await analyzeCount(pool, 'audit_trail_p_default')) > before, 'the partition holding the rows was analyzed');
    // settle() (bulk loads) handles the trail too: its history is a view, not a table to vacuum.
    await maintenance.settle(['AuditEvent']);
    await maintenance.close();
  });

  it('reindex skips the trail, even its rows without an index, and writeIndexes refuses it with the reason', async () => {
    const tenant = await newTenant(pool);
    const repo = new PgRepository(pool, { auditHasher });
    const appended = rows(tenant, 3, null);
    await repo.withTenant(tenant, (store) => store.audit.appendAuditEvents(appended));
    const indexer = async () => () => ({ type: [{ s: null, c: 'reindexed' }] });
    assert.equal(await reindex(pool, indexer, { types: ['AuditEvent'], onlyMissing: false }), 0);
    await reindex(pool, indexer); // every type, only rows without an index: ours are such rows
    const { rows: stored } = await pool.query('SELECT count(*)::int AS n FROM audit_trail WHERE tenant_id = $1 AND sp IS NULL', [tenant]);
    assert.equal(stored[0].n, 3, 'the appended rows were not updated');
    await assert.rejects(writeIndexes(pool, 'AuditEvent', [{ tenant_id: tenant, id: appended[0].id, version_id: 1 }], ['{}']), /AuditEvent is append-only/);
  });
});
