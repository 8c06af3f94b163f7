// The audit journal on PostgreSQL (issue 11; docs/adr/0016-audit-journal.md, migration 0018):
// expanders in several processes never expand an entry twice nor lose one; row-level security
// keeps each tenant's entries its own (the attack: another tenant's entries read, taken, or
// forged); the app role cannot alter an entry; and the sealer never seals past an entry still in
// the journal, so the chain stays in recorded order once it is expanded.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { buildAuditEvents, type AuditInput } from '../../src/audit/balp/index.js';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { journalEntryOf } from '../../src/audit/journal.js';
import { AuditJournalExpander } from '../../src/audit/journal-expander.js';
import { auditRowsOf } from '../../src/audit/balp/index.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import { sealAuditTrail } from '../../src/storage/pg/audit-seal.js';
import { verifyAuditTrail } from '../../src/storage/pg/audit-verify.js';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const read = (n: number, recorded: Date): AuditInput => ({
  event: { kind: 'rest', interaction: 'read' },
  outcome: { status: 200 },
  period: { start: recorded, end: recorded },
  recorded,
  caller: { subject: 'anonymous' },
  network: '127.0.0.1',
  server: { observer: 'urn:hearth:test' },
  request: { id: randomUUID(), method: 'GET', path: `Patient/p${n}` },
  entities: [{ reference: `Patient/p${n}`, versionId: 1 }],
  patients: [`Patient/p${n}`],
});

describe('the audit journal (PostgreSQL)', function () {
  this.timeout(120_000);
  let pool: pg.Pool;
  let repository: PgRepository;
  const registry = createSearchRegistry();

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    repository = new PgRepository(pool, { auditHasher });
  });

  const count = async (table: 'audit_journal' | 'audit_trail', tenant: string) =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenant])).rows[0].n;

  async function record(tenant: string, n: number, at = () => new Date()): Promise<void> {
    for (let from = 0; from < n; from += 250) {
      const entries = Array.from({ length: Math.min(250, n - from) }, (_, i) => journalEntryOf(tenant, read(from + i, at())));
      await repository.appendAuditJournal(tenant, entries);
    }
  }

  it('two expanders (two processes) draining one tenant at once expand every entry exactly once', async () => {
    const tenant = await newTenant(pool);
    await record(tenant, 1200);
    const one = new AuditJournalExpander({ repository, registry, batchSize: 100, intervalMs: 0 });
    const two = new AuditJournalExpander({ repository: new PgRepository(pool, { auditHasher }), registry, batchSize: 70, intervalMs: 0 });
    const first = one.drain(tenant);
    // A drain returns once every entry recorded before it is in the trail, even those the other
    // process took (it waits for them rather than returning when it finds nothing to take).
    const b = await two.drain(tenant);
    assert.equal(await count('audit_journal', tenant), 0);
    const a = await first;
    assert.equal(a + b, 1200);
    assert.equal(await count('audit_trail', tenant), 1200);
    const { rows } = await pool.query<{ n: number }>("SELECT count(DISTINCT content::jsonb #>> '{entity,1,what,identifier,value}')::int AS n FROM audit_events WHERE tenant_id = $1", [tenant]);
    assert.equal(rows[0].n, 1200, 'each request id once');
  });

  it('keeps each tenant\'s entries its own: another tenant\'s are neither seen, taken, deleted nor forged', async () => {
    const mine = await newTenant(pool);
    const theirs = await newTenant(pool);
    await record(theirs, 5);
    await record(mine, 2);
    await inTenantTransaction(pool, mine, async (client) => {
      const { rows } = await client.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM audit_journal');
      assert.deepEqual(rows.map((r) => r.tenant_id), [mine]);
      const deleted = await client.query('DELETE FROM audit_journal WHERE tenant_id = $1', [theirs]);
      assert.equal(deleted.rowCount, 0);
    });
    await assert.rejects(
      inTenantTransaction(pool, mine, (client) => client.query("INSERT INTO audit_journal (tenant_id, id, recorded, entry) VALUES ($1, 'forged', now(), '{}')", [theirs])),
      /row-level security/,
    );
    const expander = new AuditJournalExpander({ repository, registry, intervalMs: 0 });
    assert.equal(await expander.drain(mine), 2);
    assert.equal(await count('audit_journal', theirs), 5, 'their entries are untouched');
    assert.equal(await count('audit_trail', theirs), 0);
  });

  it('the app role cannot alter an entry', async () => {
    const tenant = await newTenant(pool);
    await record(tenant, 1);
    await assert.rejects(
      inTenantTransaction(pool, tenant, (client) => client.query("UPDATE audit_journal SET entry = '{}' WHERE tenant_id = $1", [tenant])),
      /permission denied/,
    );
  });

  it('the sealer seals nothing recorded from the oldest entry still in the journal on; once expanded, the trail seals and verifies intact', async () => {
    const tenant = await newTenant(pool);
    const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
    // Expanded long ago, one entry still pending from five minutes ago, expanded ones after it.
    const expanded = (n: number, at: Date) => auditRowsOf(tenant, buildAuditEvents(read(n, at)));
    await repository.withTenant(tenant, (store) => store.audit.appendAuditEvents([...expanded(1, minutesAgo(10)), ...expanded(2, minutesAgo(3)), ...expanded(3, minutesAgo(2))]));
    await repository.appendAuditJournal(tenant, [journalEntryOf(tenant, read(9, minutesAgo(5)))]);
    const first = await sealAuditTrail(pool, auditHasher, tenant);
    assert.equal(first.rows, 1, 'only what precedes the pending entry');
    await new AuditJournalExpander({ repository, registry, intervalMs: 0 }).drain(tenant);
    const second = await sealAuditTrail(pool, auditHasher, tenant);
    assert.equal(second.rows, 3, 'the expanded entry, then the rows after it');
    const verified = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
    assert.ok(verified.intact, JSON.stringify(verified));
    assert.equal(verified.sealed, 4);
  });
});
