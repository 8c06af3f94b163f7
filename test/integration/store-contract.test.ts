// The ResourceStore contract suite (test/unit/storage/store-contract.ts) on PostgreSQL: the
// same cases the in-memory store passes, so the two cannot drift apart.
import type pg from 'pg';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';
import { resourceStoreContract } from '../unit/storage/store-contract.js';

describe('PgRepository (integration)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });

  resourceStoreContract('PostgreSQL', () => ({
    repository: new PgRepository(pool),
    newTenant: () => newTenant(pool),
  }));
});
