// Relays are woken after commits that appended outbox rows (src/storage/pg/outbox-notifier.ts,
// outbox-listener.ts; ADR 0020): the repository reports the commit, the notifier sends one NOTIFY
// per tenant per window, a LISTEN connection in another "process" hears it. A rolled-back
// transaction, or one that appended nothing, wakes nobody.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { uuidV7 } from '../../src/core/uuid-v7.js';
import { listenForOutbox } from '../../src/storage/pg/outbox-listener.js';
import { OutboxNotifier } from '../../src/storage/pg/outbox-notifier.js';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';

describe('outbox wake-ups (integration)', function () {
  this.timeout(20_000);
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });

  const entry = () => ({ id: uuidV7(), channel: 'sync' as const, target: 'iis', resourceType: 'Immunization', resourceId: 'i1', versionId: 1, action: 'create' as const });

  it('notifies listeners of the tenant once its transaction committed outbox rows, coalescing a burst; not for rollbacks or other writes', async () => {
    const tenant = await newTenant(pool);
    const heard: string[] = [];
    const local: string[] = [];
    const unlisten = await listenForOutbox(TEST_DATABASE_URL, (t) => heard.push(t), () => undefined);
    const notifier = new OutboxNotifier(pool, 25);
    notifier.subscribe((t) => local.push(t));
    const repository = new PgRepository(pool, { outboxCommitted: (t) => notifier.committed(t) });
    try {
      await repository.withTenant(tenant, async (store) => {
        await store.outbox.append([entry()]);
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(local, [], 'nothing before the commit');
      });
      for (let i = 0; i < 5; i++) await repository.withTenant(tenant, (store) => store.outbox.append([entry()]));
      const deadline = Date.now() + 5000;
      while (!heard.includes(tenant) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(heard.includes(tenant), 'another connection heard it');
      // A burst may end in a second notification (one per tenant per 25 ms): let it arrive before
      // counting, so that it is not taken for one of the rollback's below.
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(heard.filter((t) => t === tenant).length <= 2, `a burst is coalesced (${heard.length})`);
      assert.ok(local.includes(tenant), 'the relay of this process is nudged');
      heard.length = 0;
      local.length = 0;
      await assert.rejects(repository.withTenant(tenant, async (store) => {
        await store.outbox.append([entry()]);
        throw new Error('rolled back');
      }));
      await repository.withTenant(tenant, (store) => store.searchParameters.generation());
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(heard, []);
      assert.deepEqual(local, []);
    } finally {
      notifier.close();
      await unlisten();
    }
  });
});
