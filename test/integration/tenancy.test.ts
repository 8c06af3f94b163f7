// Row-level security and partitioning on real PostgreSQL (ARCHITECTURE.md tenancy).
import assert from 'node:assert/strict';
import type pg from 'pg';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { createTenant, listTenants } from '../../src/storage/pg/tenant-admin.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

function version(id: string, tenant: string) {
  return {
    resourceType: 'Patient',
    id,
    versionId: 1,
    lastUpdated: new Date(),
    deleted: false,
    content: JSON.stringify({ resourceType: 'Patient', id, meta: { versionId: '1' }, name: [{ family: tenant }] }),
    method: 'PUT' as const,
    status: 201,
    searchIndex: null,
  };
}

describe('tenancy (integration)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });

  it('a query without a tenant filter, run as the app role, sees only the current tenant', async () => {
    const repo = new PgRepository(pool);
    const a = await newTenant(pool);
    const b = await newTenant(pool);
    await repo.withTenant(a, (s) => s.writeVersion(version('p1', a)));
    await repo.withTenant(b, (s) => s.writeVersion(version('p2', b)));
    for (const table of ['patient', 'patient_history']) {
      const rows = await inTenantTransaction(pool, a, async (client) => (await client.query(`SELECT tenant_id, id FROM ${table}`)).rows);
      assert.ok(rows.length >= 1, `${table}: own rows are visible`);
      assert.deepEqual(new Set(rows.map((r) => r.tenant_id)), new Set([a]), `${table}: only tenant ${a}`);
    }
  });

  it('the app role is not owner, superuser or BYPASSRLS', async () => {
    const tenant = await newTenant(pool);
    const row = await inTenantTransaction(pool, tenant, async (client) => {
      const { rows } = await client.query(
        `SELECT current_user AS who, r.rolsuper, r.rolbypassrls,
                (SELECT tableowner FROM pg_tables WHERE tablename = 'patient_history') AS owner
         FROM pg_roles r WHERE r.rolname = current_user`,
      );
      return rows[0];
    });
    assert.equal(row.who, 'hearth_app');
    assert.equal(row.rolsuper, false);
    assert.equal(row.rolbypassrls, false);
    assert.notEqual(row.owner, 'hearth_app');
  });

  it('the app role cannot write a row for another tenant', async () => {
    const a = await newTenant(pool);
    const b = await newTenant(pool);
    await assert.rejects(
      inTenantTransaction(pool, a, (client) =>
        client.query(
          "INSERT INTO patient_history (tenant_id, id, version_id, last_updated, content) VALUES ($1, 'x', 1, now(), '{}')",
          [b],
        ),
      ),
      /row-level security/,
    );
  });

  it('without a tenant set, the app role sees nothing', async () => {
    const a = await newTenant(pool);
    await new PgRepository(pool).withTenant(a, (s) => s.writeVersion(version('p1', a)));
    const client = await pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL ROLE hearth_app');
      // A fresh session errors (setting undefined); a reused one has it reset to ''. Both fail closed.
      const seen = await client.query('SELECT count(*)::int AS n FROM patient').then(
        (r) => r.rows[0].n as number,
        (error: Error) => {
          assert.match(error.message, /app\.tenant_id/);
          return 0;
        },
      );
      assert.equal(seen, 0);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('tenant create --dedicated-partition gives the tenant its own partitions, used by its rows', async () => {
    const tenant = await newTenant(pool, { dedicatedPartition: true });
    await new PgRepository(pool).withTenant(tenant, (s) => s.writeVersion(version('p1', tenant)));
    const { rows } = await pool.query(
      "SELECT tableoid::regclass::text AS part FROM patient WHERE tenant_id = $1",
      [tenant],
    );
    assert.equal(rows.length, 1);
    // On Citus, tableoid names the shard of the partition (patient_p_…_102345).
    assert.match(rows[0].part, /^patient_p_[0-9a-f]{12}(_\d+)?$/);
    const { rows: shared } = await pool.query('SELECT count(*)::int AS n FROM patient_p_default WHERE tenant_id = $1', [tenant]);
    assert.equal(shared[0].n, 0);
    const listed = await listTenants(pool);
    assert.equal(listed.find((t) => t.id === tenant)?.dedicatedPartition, true);
  });

  it('creating an existing tenant fails with a clear message', async () => {
    const tenant = await newTenant(pool);
    await assert.rejects(createTenant(pool, { id: tenant, name: 'again', dedicatedPartition: false }), /already exists/);
  });
});
