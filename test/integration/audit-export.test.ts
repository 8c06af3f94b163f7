// The audit trail's page reader for the NDJSON export (src/storage/pg/audit-export.ts): keyset
// pages in (recorded, id) order, ties on recorded across a page boundary neither lost nor
// repeated; no connection (so no transaction) held while the consumer is between pages; a
// consumer that stops (return()) reads no further page.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import type { NewAuditRow } from '../../src/storage/audit-store.js';
import { auditExportLines, readAuditExportPage } from '../../src/storage/pg/audit-export.js';
import { PgAuditStore } from '../../src/storage/pg/audit-store.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const BASE = Date.parse('2026-10-20T10:00:00Z');

async function append(pool: pg.Pool, tenantId: string, count: number): Promise<NewAuditRow[]> {
  // Five events per millisecond: every page boundary of a page size of 7 falls inside a tie.
  const rows = Array.from({ length: count }, (_, i) => {
    const id = randomUUID();
    const recorded = new Date(BASE + Math.floor(i / 5));
    return { tenantId, id, recorded, content: JSON.stringify({ resourceType: 'AuditEvent', id, recorded: recorded.toISOString() }), sp: null, patients: [] };
  });
  await inTenantTransaction(pool, tenantId, (client) => new PgAuditStore(client, tenantId, auditHasher).appendAuditEvents(rows));
  return rows.sort((a, b) => a.recorded.getTime() - b.recorded.getTime() || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
}

/** Counts the connections `pool` hands out (one per page transaction). */
function countingConnects(pool: pg.Pool): { pool: pg.Pool; connects: () => number } {
  let connects = 0;
  const counting = Object.create(pool) as pg.Pool;
  counting.connect = (async () => {
    connects++;
    return pool.connect();
  }) as pg.Pool['connect'];
  return { pool: counting, connects: () => connects };
}

describe('audit export page reader (integration)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });

  it('reads every event once, in (recorded, id) order, across pages whose boundaries split ties', async () => {
    const tenant = await newTenant(pool);
    const rows = await append(pool, tenant, 52);
    const counting = countingConnects(pool);
    const lines: string[] = [];
    for await (const line of auditExportLines(counting.pool, tenant, {}, 7)) lines.push(line);
    assert.deepEqual(lines, rows.map((r) => `${r.content}\n`));
    assert.equal(counting.connects(), 8, 'ceil(52 / 7) pages, each its own transaction');
  });

  it('bounds: since inclusive, until exclusive; an exactly full last page ends with one empty read', async () => {
    const tenant = await newTenant(pool);
    const rows = await append(pool, tenant, 20);
    const page = await readAuditExportPage(pool, tenant, { since: new Date(BASE + 1), until: new Date(BASE + 3) }, undefined, 100);
    assert.deepEqual(page.contents, rows.slice(5, 15).map((r) => r.content));
    const counting = countingConnects(pool);
    let n = 0;
    for await (const _ of auditExportLines(counting.pool, tenant, { since: new Date(BASE + 1), until: new Date(BASE + 3) }, 5)) n++;
    assert.equal(n, 10);
    assert.equal(counting.connects(), 3);
  });

  it('holds no connection between pages, and reads no further page once the consumer stops', async () => {
    const tenant = await newTenant(pool);
    await append(pool, tenant, 30);
    const counting = countingConnects(pool);
    const lines = auditExportLines(counting.pool, tenant, {}, 10);
    assert.equal((await lines.next()).done, false);
    assert.equal(counting.connects(), 1);
    assert.equal(pool.totalCount - pool.idleCount, 0, 'the page\'s transaction ended before its lines are handed out');
    for (let i = 0; i < 9; i++) await lines.next();
    assert.equal(counting.connects(), 1, 'the next page is read only when its first line is asked for');
    assert.deepEqual(await lines.return(undefined), { done: true, value: undefined });
    assert.equal((await lines.next()).done, true);
    assert.equal(counting.connects(), 1, 'no page read after return()');
  });
});
