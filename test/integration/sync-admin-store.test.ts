// PgSyncAdminStore (src/storage/pg/sync-admin-store.ts) on real PostgreSQL, inside tenant
// transactions as the app role: destinations upserted, listed and removed with their undelivered
// rows and cursors; status per destination; dead letters listed, inspected, replayed and
// discarded; and row-level security keeping one tenant's store away from another's rows.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { DestinationInput } from '../../src/storage/delivery-store.js';
import { PgDeliveryStore } from '../../src/storage/pg/delivery-store.js';
import { PgSyncAdminStore } from '../../src/storage/pg/sync-admin-store.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const destination = (id: string, overrides: Partial<DestinationInput> = {}): DestinationInput => ({
  id,
  endpoint: 'https://iis.example.org/fhir',
  resourceTypes: ['Immunization'],
  criteria: [],
  auth: { kind: 'bearer', token: 'secret-token' },
  mode: 'put',
  transport: 'fhir',
  enabled: true,
  ...overrides,
});

interface RowSpec {
  target: string;
  status?: 'pending' | 'queued' | 'dead';
  channel?: 'sync' | 'subscription';
  resourceId?: string;
  versionId?: number;
  ageSeconds?: number;
  deadAgeSeconds?: number;
  attempts?: number;
}

describe('PgSyncAdminStore (integration)', function () {
  let pool: pg.Pool;
  let tenant: string;

  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });
  beforeEach(async () => {
    tenant = await newTenant(pool);
  });

  const withStore = <T>(work: (store: PgSyncAdminStore) => Promise<T>, tenantId = tenant, storeTenant = tenantId) =>
    inTenantTransaction(pool, tenantId, (client) => work(new PgSyncAdminStore(client, storeTenant)));

  /** An outbox row written directly (as the owner), as the outbox hook and the workers would leave it. */
  async function insertRow(spec: RowSpec, tenantId = tenant): Promise<string> {
    const id = randomUUID();
    const status = spec.status ?? 'pending';
    await pool.query(
      'INSERT INTO outbox (tenant_id, id, channel, target, resource_type, resource_id, version_id, action, created_at, status, attempts, last_status, last_error, last_outcome, dead_at) ' +
        `VALUES ($1, $2, $3, $4, 'Immunization', $5, $6, 'update', now() - $7 * interval '1 second', $8, $9, $10, $11, $12::jsonb, CASE WHEN $8 = 'dead' THEN now() - $13 * interval '1 second' END)`,
      [
        tenantId, id, spec.channel ?? 'sync', spec.target, spec.resourceId ?? 'imm-1', spec.versionId ?? 1, spec.ageSeconds ?? 0, status, spec.attempts ?? (status === 'dead' ? 3 : 0),
        status === 'dead' ? 400 : null, status === 'dead' ? 'HTTP 400 from the partner' : null,
        status === 'dead' ? JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'lotNumber required' }] }) : null,
        spec.deadAgeSeconds ?? 0,
      ],
    );
    return id;
  }

  const count = async (sql: string, values: unknown[]) => Number((await pool.query<{ n: string }>(sql, values)).rows[0].n);

  it('puts (creates, then replaces by id), lists and gets destinations', async () => {
    const created = await withStore((s) => s.putDestination(destination('iis', { criteria: ['Immunization?status=completed'] })));
    assert.equal(created.tenantId, tenant);
    assert.deepEqual(created.criteria, ['Immunization?status=completed']);
    assert.deepEqual(created.auth, { kind: 'bearer', token: 'secret-token' });
    await withStore((s) => s.putDestination(destination('lab', { resourceTypes: ['Observation'], mode: 'conditional', enabled: false })));
    const replaced = await withStore((s) => s.putDestination(destination('iis', { endpoint: 'https://iis2.example.org/fhir', auth: { kind: 'none' } })));
    assert.equal(replaced.endpoint, 'https://iis2.example.org/fhir');
    assert.deepEqual(replaced.criteria, []);
    assert.deepEqual(replaced.auth, { kind: 'none' });
    assert.equal(replaced.createdAt.getTime(), created.createdAt.getTime(), 'created_at kept on replace');
    const list = await withStore((s) => s.listDestinations());
    assert.deepEqual(list.map((d) => [d.id, d.mode, d.enabled]), [['iis', 'put', true], ['lab', 'conditional', false]]);
    assert.equal((await withStore((s) => s.getDestination('lab')))?.resourceTypes[0], 'Observation');
    assert.equal(await withStore((s) => s.getDestination('nope')), undefined);
    assert.equal(await withStore((s) => s.getDestination("bad id'")), undefined);
  });

  it('removes a destination with its undelivered rows and cursors, keeping its dead letters and other destinations', async () => {
    await withStore((s) => s.putDestination(destination('iis')));
    await withStore((s) => s.putDestination(destination('other')));
    await insertRow({ target: 'iis', status: 'pending' });
    await insertRow({ target: 'iis', status: 'queued' });
    const dead = await insertRow({ target: 'iis', status: 'dead' });
    await insertRow({ target: 'other', status: 'pending' });
    // A Subscription of the same name is another channel: untouched.
    await insertRow({ target: 'iis', channel: 'subscription' });
    for (const target of ['iis', 'other']) {
      await pool.query("INSERT INTO delivery_cursor (tenant_id, channel, target, resource_type, resource_id, delivered_version) VALUES ($1, 'sync', $2, 'Immunization', 'imm-1', 1)", [tenant, target]);
    }
    await new PgDeliveryStore(pool).recordBreaker(tenant, 'sync:iis', 'open');
    await new PgDeliveryStore(pool).recordBreaker(tenant, 'sync:other', 'open');
    assert.equal(await withStore((s) => s.removeDestination('iis')), true);
    assert.equal(await withStore((s) => s.getDestination('iis')), undefined);
    assert.equal(await count('SELECT count(*) AS n FROM delivery_breaker WHERE tenant_id = $1', [tenant]), 1, "the removed destination's breaker goes, the other's stays");
    const rows = await pool.query<{ id: string; target: string; channel: string; status: string }>('SELECT id::text, target, channel, status FROM outbox WHERE tenant_id = $1 ORDER BY target, channel', [tenant]);
    assert.deepEqual(rows.rows.map((r) => [r.target, r.channel, r.status]), [['iis', 'subscription', 'pending'], ['iis', 'sync', 'dead'], ['other', 'sync', 'pending']]);
    assert.equal(rows.rows.find((r) => r.status === 'dead')?.id, dead);
    assert.equal(await count('SELECT count(*) AS n FROM delivery_cursor WHERE tenant_id = $1 AND target = $2', [tenant, 'iis']), 0);
    assert.equal(await count('SELECT count(*) AS n FROM delivery_cursor WHERE tenant_id = $1 AND target = $2', [tenant, 'other']), 1);
    assert.equal(await withStore((s) => s.removeDestination('iis')), false);
    assert.equal(await withStore((s) => s.removeDestination('not valid!')), false);
  });

  it('reports backlog, the age of the oldest live row, dead letters and the breaker per destination', async () => {
    await withStore((s) => s.putDestination(destination('iis')));
    await withStore((s) => s.putDestination(destination('quiet')));
    await insertRow({ target: 'iis', status: 'pending', ageSeconds: 300 });
    await insertRow({ target: 'iis', status: 'queued', ageSeconds: 10 });
    await insertRow({ target: 'iis', status: 'dead', ageSeconds: 3600 });
    await insertRow({ target: 'iis', channel: 'subscription', ageSeconds: 7200 });
    await new PgDeliveryStore(pool).recordBreaker(tenant, 'sync:iis', 'open'); // as the worker records it (destinationLabel)
    const status = await withStore((s) => s.status());
    assert.equal(status.length, 2);
    const [iis, quiet] = status;
    assert.equal(iis.id, 'iis');
    assert.equal(iis.backlog, 2);
    assert.equal(iis.deadLetters, 1);
    assert.ok(iis.oldestAgeSeconds! >= 299 && iis.oldestAgeSeconds! < 400, String(iis.oldestAgeSeconds));
    assert.equal(iis.breaker?.state, 'open');
    assert.equal(iis.breaker?.openedCount, 1);
    assert.ok(iis.breaker?.changedAt instanceof Date);
    assert.deepEqual(quiet, { id: 'quiet', backlog: 0, oldestAgeSeconds: null, deadLetters: 0, breaker: null });
  });

  it('lists dead letters newest first, by target and up to a limit, and reads one row', async () => {
    const older = await insertRow({ target: 'iis', status: 'dead', deadAgeSeconds: 60 });
    const newer = await insertRow({ target: 'iis', status: 'dead', deadAgeSeconds: 5, resourceId: 'imm-2', versionId: 4 });
    const other = await insertRow({ target: 'lab', status: 'dead', deadAgeSeconds: 30 });
    await insertRow({ target: 'iis', status: 'pending' });
    assert.deepEqual((await withStore((s) => s.deadLetters({ limit: 10 }))).map((r) => r.id), [newer, other, older]);
    assert.deepEqual((await withStore((s) => s.deadLetters({ target: 'iis', limit: 10 }))).map((r) => r.id), [newer, older]);
    assert.deepEqual((await withStore((s) => s.deadLetters({ limit: 1 }))).map((r) => r.id), [newer]);
    const row = await withStore((s) => s.outboxRow(newer));
    assert.equal(row?.status, 'dead');
    assert.equal(row?.resourceId, 'imm-2');
    assert.equal(row?.versionId, 4);
    assert.equal(row?.lastStatus, 400);
    assert.deepEqual((row?.lastOutcome as { issue: { diagnostics: string }[] }).issue[0].diagnostics, 'lotNumber required');
    assert.equal(await withStore((s) => s.outboxRow(randomUUID())), undefined);
    // Not a uuid: not found, and the transaction is not broken by a failed cast.
    assert.equal(await withStore(async (s) => (await s.outboxRow('not-a-uuid')) ?? (await s.outboxRow(newer))?.id), newer);
  });

  it('replays a dead letter to pending with its attempts reset and its history kept, and wakes the relays', async () => {
    const dead = await insertRow({ target: 'iis', status: 'dead', attempts: 5 });
    const pending = await insertRow({ target: 'iis', status: 'pending' });
    const before = (await pool.query<{ hand: number }>('SELECT hand FROM outbox WHERE tenant_id = $1 AND id = $2', [tenant, dead])).rows[0].hand;
    const listener = await pool.connect();
    const notified: string[] = [];
    try {
      listener.on('notification', (n) => notified.push(n.payload ?? ''));
      await listener.query('LISTEN hearth_outbox');
      assert.equal(await withStore((s) => s.replay(dead)), true);
      for (let i = 0; i < 50 && !notified.includes(tenant); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(notified.includes(tenant), 'a NOTIFY hearth_outbox with the tenant');
    } finally {
      await listener.query('UNLISTEN hearth_outbox');
      listener.release();
    }
    const row = await withStore((s) => s.outboxRow(dead));
    assert.equal(row?.status, 'pending');
    assert.equal(row?.attempts, 0);
    assert.equal(row?.deadAt, null);
    assert.equal(row?.dueAt, null);
    assert.equal(row?.hand, before + 1, 'jobs naming the old hand are stale');
    assert.equal(row?.lastStatus, 400);
    assert.equal(row?.lastError, 'HTTP 400 from the partner');
    assert.ok(row?.lastOutcome);
    assert.equal(await withStore((s) => s.replay(dead)), false, 'no longer a dead letter');
    assert.equal(await withStore((s) => s.replay(pending)), false);
    assert.equal(await withStore((s) => s.replay(randomUUID())), false);
    assert.equal(await withStore((s) => s.replay('x')), false);
    assert.deepEqual(await withStore((s) => s.deadLetters({ limit: 10 })), []);
  });

  it('discards dead letters only', async () => {
    const dead = await insertRow({ target: 'iis', status: 'dead' });
    const queued = await insertRow({ target: 'iis', status: 'queued' });
    assert.equal(await withStore((s) => s.discard(queued)), false);
    assert.equal(await withStore((s) => s.discard('1234')), false);
    assert.equal(await withStore((s) => s.discard(dead)), true);
    assert.equal(await withStore((s) => s.discard(dead)), false);
    assert.equal(await withStore((s) => s.outboxRow(dead)), undefined);
    assert.equal((await withStore((s) => s.outboxRow(queued)))?.status, 'queued');
  });

  it("row-level security: in tenant A's transaction the store sees, replays and removes nothing of tenant B's", async () => {
    const other = await newTenant(pool);
    await withStore((s) => s.putDestination(destination('iis')), other);
    const theirDead = await insertRow({ target: 'iis', status: 'dead' }, other);
    await insertRow({ target: 'iis', status: 'pending' }, other);
    await new PgDeliveryStore(pool).recordBreaker(other, 'iis', 'open');
    // A store that names B while the transaction is A's (a forgotten or forged tenant), and A's own store with B's ids.
    for (const storeTenant of [other, tenant]) {
      const seen = await withStore(async (s) => ({
        list: await s.listDestinations(),
        get: await s.getDestination('iis'),
        status: await s.status(),
        dead: await s.deadLetters({ limit: 10 }),
        row: await s.outboxRow(theirDead),
        replay: await s.replay(theirDead),
        discard: await s.discard(theirDead),
        remove: await s.removeDestination('iis'),
      }), tenant, storeTenant);
      assert.deepEqual(seen, { list: [], get: undefined, status: [], dead: [], row: undefined, replay: false, discard: false, remove: false }, storeTenant);
    }
    // Writing B's rows from A's transaction is refused by the policy's WITH CHECK.
    await assert.rejects(withStore((s) => s.putDestination(destination('evil')), tenant, other), /row-level security/);
    // B's rows are untouched.
    assert.equal((await withStore((s) => s.outboxRow(theirDead), other))?.status, 'dead');
    assert.equal((await withStore((s) => s.status(), other))[0].backlog, 1);
    assert.equal((await withStore((s) => s.listDestinations(), other)).length, 1);
  });
});
