// Shared integration fixtures: one migrated pool for the run, one fresh tenant per test.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { preloadTerminology } from '../../src/compose-terminology.js';
import { migrate } from '../../src/storage/pg/migrate.js';
import { createTenant } from '../../src/storage/pg/tenant-admin.js';
import { TEST_DATABASE_URL } from './services.js';

let shared: Promise<pg.Pool> | undefined;

/** A pool on the test database, migrated once per run, with the R4 and HL7 terminology preloaded (once per database). */
export function testPool(): Promise<pg.Pool> {
  shared ??= (async () => {
    const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 10 });
    pool.on('error', () => undefined);
    await migrate(pool);
    await preloadTerminology(pool);
    return pool;
  })();
  return shared;
}

/** Creates a tenant with a unique id for one test. */
export async function newTenant(pool: pg.Pool, options: { dedicatedPartition?: boolean } = {}): Promise<string> {
  const id = `t-${randomUUID().slice(0, 13)}`;
  await createTenant(pool, { id, name: `test ${id}`, dedicatedPartition: options.dedicatedPartition ?? false });
  return id;
}
