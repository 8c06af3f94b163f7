// The distributed mode's session form and VALUES writes (issue 15; ADR 0024), on the single-node
// test database: the form is valid PostgreSQL there, so CI, which cannot install Citus, covers the
// statements the Citus tier (npm run test:citus) depends on. A pool marked with
// useDistributedSessions opens tenant transactions as on a coordinator and writes batches as
// multi-row INSERT … VALUES in chunks.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { sealAuditTrail } from '../../src/storage/pg/audit-seal.js';
import { PgAuditStore } from '../../src/storage/pg/audit-store.js';
import { verifyAuditTrail } from '../../src/storage/pg/audit-verify.js';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { TENANT_TABLES } from '../../src/storage/pg/terminology-tables.js';
import { beginVersion } from '../../src/storage/pg/terminology-writer.js';
import { PgTerminologyStore } from '../../src/storage/pg/terminology-store.js';
import { inTenantTransaction, onCoordinator, useDistributedSessions } from '../../src/storage/pg/tenant-session.js';
import { WriteConflict, type NewVersion } from '../../src/storage/resource-store.js';
import type { OutboxEntry } from '../../src/storage/outbox-store.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';

const version = (id: string, versionId: number): NewVersion => ({
  resourceType: 'Patient', id, versionId, lastUpdated: new Date(Date.UTC(2026, 0, 1, 0, 0, versionId)), deleted: false,
  content: JSON.stringify({ resourceType: 'Patient', id, meta: { versionId: String(versionId) }, name: [{ family: `F "${id}" \\ ,{}` }] }),
  method: versionId === 1 ? 'POST' : 'PUT', status: versionId === 1 ? 201 : 200,
  searchIndex: { 'name:exact': [`f "${id}"`] },
});

describe('distributed session form on a single node (integration)', function () {
  this.timeout(120_000);
  let pool: pg.Pool;
  /** Every statement text the pool's clients were given, in order. */
  const sent: string[] = [];

  before(async function () {
    await requireServices(this);
    await testPool(); // migrated
    pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
    pool.on('error', () => undefined);
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
        const config = args[0] as string | { text?: string };
        sent.push(typeof config === 'string' ? config : (config.text ?? ''));
        return query(...args);
      };
    });
    useDistributedSessions(pool);
  });
  after(async () => pool?.end());

  it('opens as the app role with the tenant set by SET LOCAL, which ends with the transaction', async () => {
    const tenant = await newTenant(pool);
    const seen = await inTenantTransaction(pool, tenant, async (client) => {
      assert.equal(onCoordinator(client), true);
      const { rows } = await client.query<{ role: string; tenant: string; propagate: string }>(
        "SELECT current_user AS role, current_setting('app.tenant_id') AS tenant, current_setting('citus.propagate_set_commands') AS propagate",
      );
      return rows[0];
    });
    assert.deepEqual(seen, { role: 'hearth_app', tenant, propagate: 'local' });
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ tenant: string | null }>("SELECT current_setting('app.tenant_id', true) AS tenant");
      assert.ok(!rows[0].tenant, `nothing left on the connection: ${rows[0].tenant}`);
    } finally {
      client.release();
    }
  });

  it('writes a batch larger than one statement\'s binds as VALUES chunks, with its journal and outbox rows', async () => {
    const tenant = await newTenant(pool);
    const repo = new PgRepository(pool, { auditHasher });
    const versions = Array.from({ length: 4_000 }, (_, i) => version(`p${i}`, 1)); // 8 binds each: two chunks
    const audit = versions.slice(0, 3).map((v) => ({ tenantId: tenant, id: randomUUID(), recorded: new Date(), entry: JSON.stringify({ id: v.id }) }));
    const outbox: OutboxEntry[] = versions.slice(0, 2).map((v) => ({ id: randomUUID(), channel: 'sync', target: 'd1', resourceType: 'Patient', resourceId: v.id, versionId: 1, action: 'create' }));
    sent.length = 0;
    await repo.withTenant(tenant, (s) => s.writeVersions(versions, audit, outbox));
    assert.deepEqual(sent.filter((t) => t.includes('json_to_recordset')), []);
    assert.equal(sent.filter((t) => /^WITH h AS \(INSERT INTO "?patient_history"? \(.*\) VALUES /.test(t)).length, 2, 'two VALUES chunks of versions');
    assert.equal(sent.filter((t) => t.startsWith('INSERT INTO audit_journal (tenant_id, id, recorded, entry) VALUES')).length, 1);
    assert.equal(sent.filter((t) => t.startsWith('INSERT INTO outbox (') && t.includes(' VALUES ')).length, 1);
    const { rows: [counts] } = await pool.query<{ current: number; history: number; journal: number; outbox: number }>(
      `SELECT (SELECT count(*)::int FROM patient WHERE tenant_id = $1) AS current, (SELECT count(*)::int FROM patient_history WHERE tenant_id = $1) AS history,
              (SELECT count(*)::int FROM audit_journal WHERE tenant_id = $1) AS journal, (SELECT count(*)::int FROM outbox WHERE tenant_id = $1) AS outbox`,
      [tenant],
    );
    assert.deepEqual(counts, { current: 4_000, history: 4_000, journal: 3, outbox: 2 });
    const { rows: [row] } = await pool.query<{ content: string; sp: unknown; version_id: number }>('SELECT content, sp, version_id FROM patient WHERE tenant_id = $1 AND id = $2', [tenant, 'p3999']);
    assert.deepEqual(row, { content: versions[3999].content, sp: versions[3999].searchIndex, version_id: 1 });
  });

  it('keeps the version guard: a stale version fails the batch with WriteConflict and writes none of it', async () => {
    const tenant = await newTenant(pool);
    const repo = new PgRepository(pool, { auditHasher });
    await repo.withTenant(tenant, (s) => s.writeVersions([version('a', 1), version('b', 1)]));
    await assert.rejects(repo.withTenant(tenant, (s) => s.writeVersions([version('a', 2), version('b', 3)])), WriteConflict);
    const { rows } = await pool.query<{ id: string; version_id: number }>('SELECT id, version_id FROM patient WHERE tenant_id = $1 ORDER BY id', [tenant]);
    assert.deepEqual(rows, [{ id: 'a', version_id: 1 }, { id: 'b', version_id: 1 }]);
  });

  it('appends audit events as VALUES that seal and verify intact, and journal entries outside a bundle', async () => {
    const tenant = await newTenant(pool);
    const start = Date.now() - 3_600_000;
    const rows = Array.from({ length: 5 }, (_, i) => {
      const id = randomUUID();
      const recorded = new Date(start + i * 1000);
      return { tenantId: tenant, id, recorded, content: JSON.stringify({ resourceType: 'AuditEvent', id, recorded: recorded.toISOString() }), sp: { type: [{ code: 'rest' }] }, patients: i % 2 ? ['Patient/x'] : [] };
    });
    await inTenantTransaction(pool, tenant, (client) => new PgAuditStore(client, tenant, auditHasher).appendAuditEvents(rows));
    assert.deepEqual(await sealAuditTrail(pool, auditHasher, tenant), { seals: 1, rows: 5 });
    const verified = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
    assert.equal(verified.intact, true);
    assert.equal(verified.sealed, 5);
    const { rows: patients } = await pool.query<{ patients: string[] }>('SELECT patients FROM audit_trail WHERE tenant_id = $1 AND id = $2', [tenant, rows[1].id]);
    assert.deepEqual(patients[0].patients, ['Patient/x']);

    await new PgRepository(pool).appendAuditJournal(tenant, [{ tenantId: tenant, id: randomUUID(), recorded: new Date(), entry: '{"e":1}' }]);
    const { rows: journal } = await pool.query<{ entry: string }>('SELECT entry FROM audit_journal WHERE tenant_id = $1', [tenant]);
    assert.deepEqual(journal, [{ entry: '{"e":1}' }]);
  });

  it("loads a tenant's code system and caches an expansion as VALUES, with the closure and every code", async () => {
    const tenant = await newTenant(pool);
    sent.length = 0;
    const loaded = await inTenantTransaction(pool, tenant, async (client) => {
      const writer = await beginVersion(client, TENANT_TABLES, tenant, { url: 'http://example.org/cs', version: '1', content: 'complete', caseSensitive: true, source: 'fhir', propertyDefs: [] });
      await writer.addConcepts([{ code: 'root', display: 'Root' }, { code: 'a', display: 'A "quoted"' }, { code: 'b', designations: [{ value: 'Bee' }] }]);
      await writer.addParents([{ child: 'a', parent: 'root' }, { child: 'b', parent: 'a' }, { child: 'b', parent: 'a' }]);
      const finished = await writer.finish();
      const store = new PgTerminologyStore(client, tenant);
      const saved = await store.saveExpansion('fp-1', { url: 'http://example.org/vs' }, [{ system: 'http://example.org/cs', code: 'a', display: 'A' }, { system: 'http://example.org/cs', code: 'b' }]);
      return { finished, saved, page: await store.expansionPage(saved.id, { offset: 0, count: 10 }) };
    });
    assert.deepEqual(loaded.finished, { concepts: 3, closureRows: 6 }); // reflexive 3 + a<root, b<a, b<root
    assert.equal(loaded.saved.total, 2);
    assert.deepEqual(loaded.page.codes.map((c) => c.code), ['a', 'b']);
    assert.deepEqual(sent.filter((t) => /FROM unnest\(/.test(t)), []);
    assert.ok(sent.some((t) => /^INSERT INTO tenant_concept \(tenant_id, code_system_id, code, display, active, designations, properties\) VALUES /.test(t)));
    assert.ok(sent.some((t) => /^INSERT INTO value_set_expansion_code .* VALUES /.test(t)));
    assert.ok(sent.some((t) => /^INSERT INTO tenant_closure \(tenant_id, code_system_id, ancestor, descendant\) VALUES /.test(t)));
    assert.deepEqual(sent.filter((t) => /^INSERT INTO tenant_\w+ .*\bSELECT\b/.test(t)), []);
    const { rows } = await pool.query<{ display: string; designations: unknown }>('SELECT display, designations FROM tenant_concept WHERE tenant_id = $1 ORDER BY code', [tenant]);
    assert.deepEqual(rows, [{ display: 'A "quoted"', designations: null }, { display: null, designations: [{ value: 'Bee' }] }, { display: 'Root', designations: null }]);
  });
});
