// The hearth load ledger (src/load/ledger.ts, migration 0009) on real PostgreSQL: progress only
// moves forward, completion is recorded, and row-level security keeps tenants apart.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { RepositoryLedger } from '../../src/load/ledger.js';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const key = { name: 'export/Patient.ndjson', size: 1234, sha256: 'ab'.repeat(32) };

describe('load ledger (integration)', function () {
  let pool: pg.Pool;
  let ledger: RepositoryLedger;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
    ledger = new RepositoryLedger(new PgRepository(pool));
  });

  it('records progress that never moves back, then completion', async () => {
    const tenant = await newTenant(pool);
    assert.equal(await ledger.find(tenant, key), undefined);
    await ledger.progress(tenant, key, 1000, 990);
    await ledger.progress(tenant, key, 500, 495); // a unit that committed earlier, written late
    assert.deepEqual(await ledger.find(tenant, key), { completed: false, linesDone: 1000, resources: 990 });
    await ledger.complete(tenant, key, 1500);
    assert.deepEqual(await ledger.find(tenant, key), { completed: true, linesDone: 1000, resources: 1500 });
    assert.equal(await ledger.find(tenant, { ...key, sha256: 'cd'.repeat(32) }), undefined, 'changed content is another file');
  });

  it('is per tenant, and the app role sees only its own tenant\'s rows', async () => {
    const a = await newTenant(pool);
    const b = await newTenant(pool);
    await ledger.complete(a, key, 10);
    assert.equal(await ledger.find(b, key), undefined);
    const rows = await inTenantTransaction(pool, b, async (client) => (await client.query('SELECT tenant_id FROM load_ledger')).rows);
    assert.ok(rows.every((r) => r.tenant_id === b));
    await assert.rejects(
      inTenantTransaction(pool, b, (client) => client.query("INSERT INTO load_ledger (tenant_id, path, size_bytes, sha256) VALUES ($1, 'x', 1, 'y')", [a])),
      /row-level security/,
    );
  });
});
