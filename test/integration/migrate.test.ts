// Migrations: several processes starting together apply each migration exactly once.
import assert from 'node:assert/strict';
import pg from 'pg';
import { migrate } from '../../src/storage/pg/migrate.js';
import { dropDatabase, ensureDatabase, requireServices, TEST_DATABASE_URL } from '../support/services.js';

describe('migrations (integration)', function () {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/hearth_migrate_${process.pid}`;

  before(async function () {
    await requireServices(this);
    await ensureDatabase(url.toString());
  });

  after(async () => {
    await dropDatabase(url.toString());
  });

  it('four concurrent migrators on an empty database apply every migration once, without error', async () => {
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: url.toString(), max: 1 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      const appliedCounts = results.map((r) => r.applied.length);
      assert.equal(appliedCounts.filter((n) => n > 0).length, 1, `exactly one migrator did the work: ${appliedCounts}`);
      const { rows } = await pools[0].query('SELECT name, count(*)::int AS n FROM schema_migrations GROUP BY name');
      assert.ok(rows.length >= 2);
      assert.ok(rows.every((r) => r.n === 1));
      const again = await migrate(pools[0]);
      assert.deepEqual(again.applied, []);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
