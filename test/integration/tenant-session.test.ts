// The opening round trip of a tenant transaction (src/storage/pg/tenant-session.ts): role,
// tenant, pending-list limit and the search-parameter generation in one simple-protocol
// statement, the tenant as a checked literal.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { beginStatement, inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

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
});
