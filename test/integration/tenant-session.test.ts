// The opening round trip of a tenant transaction (src/storage/pg/tenant-session.ts): role,
// tenant, pending-list limit and the search-parameter generation in one simple-protocol
// statement, the tenant as a checked literal. And its end: the statements left for the commit
// (a read's audit entry, ADR 0018), on a pipelined pool in COMMIT's round trip.
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { beginStatement, inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';

function searchParameter(id: string, versionId: number) {
  const resource = {
    resourceType: 'SearchParameter', id, url: `http://example.org/sp/${id}`, name: id, status: 'active',
    description: id, code: id, base: ['Patient'], type: 'string', expression: 'Patient.name.given',
  };
  return {
    resourceType: 'SearchParameter', id, versionId, lastUpdated: new Date(), deleted: false,
    content: JSON.stringify(resource), method: 'PUT' as const, status: 201, searchIndex: null,
  };
}

describe('tenant session (integration)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });

  it('refuses a tenant id that could leave its literal, before sending anything', async () => {
    for (const id of ["x'; DROP TABLE tenant; --", 'a b', '', 'x'.repeat(65), "o'brien", 'ten\u0000ant']) {
      assert.throws(() => beginStatement(id), /Invalid tenant id/, id);
      await assert.rejects(inTenantTransaction(pool, id, async () => 'ran'), /Invalid tenant id/, id);
    }
  });

  it('sets the app role, the tenant and the pending-list limit for the transaction only', async () => {
    const tenant = await newTenant(pool);
    const inside = await inTenantTransaction(
      pool,
      tenant,
      async (client) =>
        (await client.query("SELECT current_user AS role, current_setting('app.tenant_id') AS tenant, current_setting('gin_pending_list_limit') AS gin")).rows[0],
      { ginPendingListLimitKb: 256 },
    );
    assert.deepEqual(inside, { role: 'hearth_app', tenant, gin: '256kB' });
    const readOnly = await inTenantTransaction(pool, tenant, async (client) => (await client.query('SHOW transaction_read_only')).rows[0], { readOnly: true });
    assert.equal(readOnly.transaction_read_only, 'on');
  });

  it('a writing transaction reads the generation with BEGIN; a SearchParameter written in it makes the store read it again', async () => {
    const tenant = await newTenant(pool);
    const repo = new PgRepository(pool);
    const fresh = () => inTenantTransaction(pool, tenant, async (client) => (await client.query('SELECT hearth_search_generation($1) AS g', [tenant])).rows[0].g as string, { readOnly: true });
    const before = await fresh();
    const seen = await repo.withTenant(tenant, async (store) => {
      const first = await store.searchParameters.generation();
      await store.writeVersion(searchParameter('nick', 1));
      const afterWrite = await store.searchParameters.generation();
      return { first, afterWrite };
    });
    assert.equal(seen.first, before);
    assert.notEqual(seen.afterWrite, before, 'the generation read at BEGIN must not outlive a SearchParameter write');
    assert.equal(seen.afterWrite, await fresh());
    // Read-only transactions do not prefetch: they read it when asked.
    assert.equal(await repo.withTenant(tenant, (store) => store.searchParameters.generation(), { readOnly: true }), seen.afterWrite);
  });

  it('a read that appends at commit opens read-write but prefetches nothing; one that does not stays READ ONLY', () => {
    assert.match(beginStatement('t1', { readOnly: true }), /^BEGIN READ ONLY;/);
    const recorded = beginStatement('t1', { readOnly: true, appendsAtCommit: true });
    assert.match(recorded, /^BEGIN; SELECT /);
    assert.doesNotMatch(recorded, /hearth_search_generation/);
  });

  for (const pipeline of [false, true]) {
    describe(`statements left for the commit${pipeline ? ' (pipelined)' : ''}`, () => {
      let own: pg.Pool;
      before(() => {
        own = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2, pipeline });
      });
      const tenants: string[] = [];
      afterEach(async () => {
        // Not AuditEvent builder input: the audit CLI's tests expand every tenant's journal.
        await pool.query('DELETE FROM audit_journal WHERE tenant_id = ANY($1)', [tenants.splice(0)]);
      });
      after(async () => {
        await own.end();
      });

      const entry = (id: string) => ({ id, recorded: new Date().toISOString(), entry: '{}' });
      const journalIds = async (tenant: string) => (await pool.query<{ id: string }>('SELECT id FROM audit_journal WHERE tenant_id = $1 ORDER BY id', [tenant])).rows.map((r) => r.id);
      const append = (tenant: string, id: string) => ({
        statement: { text: 'INSERT INTO audit_journal (tenant_id, id, recorded, entry) SELECT $1, e.id, e.recorded, e.entry FROM json_to_recordset($2::json) AS e(id text, recorded timestamptz, entry text)', values: [tenant, JSON.stringify([entry(id)])] },
        failure: (error: unknown) => new Error(`left for the commit: ${(error as Error).message}`),
      });

      it('run in the transaction, in order, and commit with it', async () => {
        const tenant = await newTenant(pool);
        tenants.push(tenant);
        const result = await inTenantTransaction(own, tenant, async (_client, _prefetch, atCommit) => {
          atCommit.push(append(tenant, 'a1'), append(tenant, 'a2'));
          return 'done';
        }, { readOnly: true, appendsAtCommit: true });
        assert.equal(result, 'done');
        assert.deepEqual(await journalIds(tenant), ['a1', 'a2']);
      });

      it('one that fails rolls back the whole transaction with its own error, and the client is still usable', async () => {
        const tenant = await newTenant(pool);
        const failing = { statement: { text: 'SELECT 1 / $1::int', values: [0] }, failure: (error: unknown) => new Error(`refused at commit: ${(error as Error).message}`) };
        await assert.rejects(
          inTenantTransaction(own, tenant, async (client, _prefetch, atCommit) => {
            await client.query('INSERT INTO audit_journal (tenant_id, id, recorded, entry) VALUES ($1, $2, now(), $3)', [tenant, 'written-before', '{}']);
            atCommit.push(append(tenant, 'b1'), failing, append(tenant, 'b2'));
          }),
          /refused at commit: division by zero/,
        );
        assert.deepEqual(await journalIds(tenant), [], 'nothing of the transaction is stored');
        // The connection went back to the pool in a clean state: the next transaction works.
        for (let i = 0; i < 3; i++) {
          assert.equal(await inTenantTransaction(own, tenant, async (client) => (await client.query('SELECT 1 AS one')).rows[0].one as number), 1);
        }
      });

      it('are not run when the work fails', async () => {
        const tenant = await newTenant(pool);
        await assert.rejects(
          inTenantTransaction(own, tenant, async (_client, _prefetch, atCommit) => {
            atCommit.push(append(tenant, 'c1'));
            throw new Error('the work failed');
          }, { readOnly: true, appendsAtCommit: true }),
          /the work failed/,
        );
        assert.deepEqual(await journalIds(tenant), []);
      });
    });
  }

  it('a READ ONLY transaction cannot take statements that write at commit', async () => {
    const tenant = await newTenant(pool);
    await assert.rejects(
      inTenantTransaction(pool, tenant, async (_client, _prefetch, atCommit) => {
        atCommit.push({ statement: { text: "INSERT INTO audit_journal (tenant_id, id, recorded, entry) VALUES ($1, 'ro', now(), '{}')", values: [tenant] }, failure: (error) => error as Error });
      }, { readOnly: true }),
      /read-only transaction/,
    );
  });
});
