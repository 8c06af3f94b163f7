// One-round-trip reads (src/storage/pg/tenant-pipeline.ts, tenant-session.ts deferBegin; ADR
// 0021): the settings statement and the read share one implicit transaction, so the read runs
// as the app role of its tenant under row-level security, read only, and nothing outlives it on
// the connection; named statements stay usable after every kind of failure; a unit that only
// reads alone sends neither BEGIN nor COMMIT.
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { inTenantTransaction, type SessionPrefetch } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';

const patient = (id: string, family: string) => ({
  resourceType: 'Patient', id, versionId: 1, lastUpdated: new Date(), deleted: false,
  content: JSON.stringify({ resourceType: 'Patient', id, name: [{ family }] }), method: 'PUT' as const, status: 201, searchIndex: null,
});

describe('one-round-trip reads (integration)', function () {
  this.timeout(20_000);
  let pool: pg.Pool;
  /** One connection, every statement sent on it logged: what the server was asked, in order. */
  let single: pg.Pool;
  const sent: string[] = [];
  let tenantA: string;
  let tenantB: string;

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    single = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
    single.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const config = args[0] as string | { text?: string; submit?: unknown };
        if (typeof config === 'string') sent.push(config);
        else sent.push(`${typeof config.submit === 'function' ? 'pipelined: ' : ''}${config.text}`);
        return query(...args);
      };
    });
    tenantA = await newTenant(pool);
    tenantB = await newTenant(pool);
    const repository = new PgRepository(pool);
    await repository.withTenant(tenantA, (store) => store.writeVersion(patient('pa', 'Alpha')));
    await repository.withTenant(tenantB, (store) => store.writeVersion(patient('pb', 'Beta')));
  });
  after(async () => {
    await single?.end();
  });

  const deferred = <T>(tenant: string, work: (client: pg.PoolClient, session: NonNullable<SessionPrefetch['session']>) => Promise<T>) =>
    inTenantTransaction(single, tenant, (client, prefetch) => work(client, prefetch.session!), { readOnly: true, deferBegin: true });

  it('runs a statement as the app role of its tenant, read only, and leaves nothing set on the connection', async () => {
    const inside = await deferred(tenantA, async (_client, session) =>
      (await session.alone({ text: "SELECT current_user AS role, current_setting('app.tenant_id') AS tenant, current_setting('transaction_read_only') AS ro, $1::text AS echo", values: ['x'] })).rows[0],
    );
    assert.deepEqual(inside, { role: 'hearth_app', tenant: tenantA, ro: 'on', echo: 'x' });
    const after = (await single.query("SELECT current_user AS role, current_setting('app.tenant_id', true) AS tenant, current_setting('transaction_read_only') AS ro")).rows[0];
    assert.notEqual(after.role, 'hearth_app', 'the role ends with the statement');
    assert.ok(after.tenant === null || after.tenant === '', `the tenant ends with the statement, found ${after.tenant}`);
    assert.equal(after.ro, 'off');
  });

  it('sees only its tenant: another tenant\'s row is invisible even when asked for by its tenant id', async () => {
    const rows = await deferred(tenantB, async (_client, session) =>
      (await session.alone({ text: 'SELECT id FROM patient WHERE tenant_id = ANY($1::text[])', values: [[tenantA, tenantB]] })).rows.map((r) => r.id),
    );
    assert.deepEqual(rows, ['pb']);
    const forged = await deferred(tenantB, async (_client, session) => (await session.alone({ text: 'SELECT id FROM patient WHERE tenant_id = $1', values: [tenantA] })).rows);
    assert.deepEqual(forged, []);
  });

  it('refuses to write', async () => {
    await assert.rejects(
      deferred(tenantA, (_client, session) => session.alone({ text: "UPDATE patient SET deleted = true WHERE tenant_id = $1 AND id = 'pa'", values: [tenantA] })),
      (error: { code?: string }) => error.code === '25006',
    );
    const still = await new PgRepository(pool).withTenant(tenantA, (store) => store.readCurrent('Patient', 'pa'), { readOnly: true });
    assert.equal(still?.deleted, false);
  });

  it('keeps named statements usable after a failed parse and a failed execution; refuses a tenant id it could not set', async () => {
    const broken = { name: 'hearth_test_broken', text: 'SELEC nothing', values: [] };
    await assert.rejects(deferred(tenantA, (_c, s) => s.alone(broken)), /syntax error/);
    await assert.rejects(deferred(tenantA, (_c, s) => s.alone(broken)), /syntax error/, 'parsed again, not "does not exist"');
    const divide = { name: 'hearth_test_divide', text: 'SELECT 10 / $1::int AS q' };
    await assert.rejects(deferred(tenantA, (_c, s) => s.alone({ ...divide, values: [0] })), /division by zero/);
    assert.equal((await deferred(tenantA, (_c, s) => s.alone({ ...divide, values: [5] }))).rows[0].q, 2, 'reused, not parsed twice');
    assert.equal((await deferred(tenantA, (_c, s) => s.alone({ ...divide, values: [2] }))).rows[0].q, 5);
    // A tenant the settings statement cannot take (the session refuses it before sending anything).
    await assert.rejects(deferred('bad tenant', (_c, s) => s.alone({ ...divide, values: [1] })), /Invalid tenant id/);
    assert.equal((await deferred(tenantA, (_c, s) => s.alone({ ...divide, values: [1] }))).rows[0].q, 10);
  });

  it('sends one statement per read and no BEGIN or COMMIT; opens a block only when another statement needs it', async () => {
    sent.length = 0;
    const repository = new PgRepository(single);
    const read = await repository.withTenant(tenantA, (store) => store.readCurrent('Patient', 'pa'), { readOnly: true });
    assert.equal(read?.id, 'pa');
    assert.equal(sent.length, 1, sent.join(' | '));
    assert.match(sent[0], /^pipelined: SELECT id, version_id, last_updated, deleted, content FROM "patient"/);

    sent.length = 0;
    const [first, inBlock, last] = await deferred(tenantA, async (client, session) => {
      const a = (await session.alone({ text: 'SELECT now() AS t, statement_timestamp() AS s' })).rows[0];
      const b = (await client.query("SELECT now() AS t, current_setting('app.tenant_id') AS tenant")).rows[0];
      const c = (await session.alone({ text: 'SELECT now() AS t' })).rows[0];
      return [a, b, c];
    });
    assert.equal(inBlock.tenant, tenantA);
    assert.ok(first.s.getTime() <= inBlock.t.getTime(), 'the first statement ran before the block opened');
    assert.equal(last.t.getTime(), inBlock.t.getTime(), 'after the block opened, alone runs inside it');
    assert.match(sent[0], /^pipelined: SELECT now\(\)/);
    assert.match(sent[1], /^BEGIN READ ONLY; SELECT set_config/);
    assert.equal(sent[sent.length - 1], 'COMMIT');
    assert.equal(sent.length, 5, sent.join(' | '));
  });

  it('a read-only unit that fails after opening its block rolls it back, and the connection serves the next unit', async () => {
    await assert.rejects(
      deferred(tenantA, async (client) => {
        await client.query('SELECT 1');
        await client.query('SELECT 1/0');
      }),
      /division by zero/,
    );
    const read = await new PgRepository(single).withTenant(tenantA, (store) => store.readCurrent('Patient', 'pa'), { readOnly: true });
    assert.equal(read?.id, 'pa');
  });
});
