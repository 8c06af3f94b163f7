// PgResourceStore.writeVersions: many versions of several types in one statement per type,
// history and current rows together, and the same version guard as single writes.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { WriteConflict, type NewVersion } from '../../src/storage/resource-store.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const version = (type: string, id: string, versionId: number, extra: Record<string, unknown> = {}): NewVersion => ({
  resourceType: type, id, versionId, lastUpdated: new Date(Date.UTC(2026, 0, 1, 0, 0, versionId)), deleted: false,
  content: JSON.stringify({ resourceType: type, id, meta: { versionId: String(versionId) }, ...extra }),
  method: versionId === 1 ? 'POST' : 'PUT', status: versionId === 1 ? 201 : 200,
  searchIndex: { 'name:exact': [`n-${id}-"quoted"\\`] },
});

describe('PgResourceStore.writeVersions (integration)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });

  it('writes current and history rows of several types, content and index entries intact', async () => {
    const tenant = await newTenant(pool);
    const repo = new PgRepository(pool);
    const patients = Array.from({ length: 300 }, (_, i) => version('Patient', `p${i}`, 1, { name: [{ family: `Fam "${i}" \\ ,{}` }] }));
    await repo.withTenant(tenant, (s) => s.writeVersions([...patients, version('Observation', 'o1', 1), version('Basic', 'b1', 1)]));
    await repo.withTenant(tenant, async (s) => {
      const p = await s.readCurrent('Patient', 'p7');
      assert.equal(p?.content, patients[7].content);
      assert.equal((await s.readVersion('Patient', 'p7', 1))?.content, patients[7].content);
      assert.ok(await s.readCurrent('Basic', 'b1'));
      const { rows: [row] } = await pool.query<{ sp: unknown; n: number }>('SELECT sp, (SELECT count(*)::int FROM patient_history WHERE tenant_id = $1) AS n FROM patient WHERE tenant_id = $1 AND id = $2', [tenant, 'p7']);
      assert.deepEqual(row.sp, patients[7].searchIndex);
      assert.equal(row.n, 300);
    });
    // Next versions replace the current rows and add history.
    await repo.withTenant(tenant, (s) => s.writeVersions([version('Patient', 'p1', 2), version('Patient', 'p2', 2)]));
    await repo.withTenant(tenant, async (s) => assert.equal((await s.readCurrent('Patient', 'p2'))?.versionId, 2));
    // readCurrentMany: the current rows of the ids that exist, in one statement.
    const many = await repo.withTenant(tenant, (s) => s.readCurrentMany('Patient', ['p2', 'p9', 'missing'], { forUpdate: true }));
    assert.deepEqual(many.map((v) => [v.id, v.versionId]), [['p2', 2], ['p9', 1]]);
  });

  it('refuses the whole statement when a version is not the next one (concurrent change)', async () => {
    const tenant = await newTenant(pool);
    const repo = new PgRepository(pool);
    await repo.withTenant(tenant, (s) => s.writeVersions([version('Patient', 'a', 1), version('Patient', 'b', 1)]));
    await assert.rejects(
      repo.withTenant(tenant, (s) => s.writeVersions([version('Patient', 'a', 2), version('Patient', 'b', 5)])),
      (error) => error instanceof WriteConflict,
    );
    await repo.withTenant(tenant, async (s) => assert.equal((await s.readCurrent('Patient', 'a'))?.versionId, 1, 'nothing of the refused statement stays'));
  });
});
