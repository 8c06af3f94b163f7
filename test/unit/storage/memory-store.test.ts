// src/storage/memory: the shared ResourceStore contract, and what only the memory store does.
import assert from 'node:assert/strict';
import type { SearchSql } from '../../../src/storage/resource-store.js';
import { MemoryRepository } from '../../../src/storage/memory/memory-repository.js';
import { resourceStoreContract, version } from './store-contract.js';

let tenants = 0;
const shared = new MemoryRepository();
resourceStoreContract('in memory', () => ({
  repository: shared,
  newTenant: async () => shared.addTenant(`t-${++tenants}`).id,
}));

describe('MemoryRepository', () => {
  it('refuses search SQL with a message that says where searches are tested', async () => {
    const repo = new MemoryRepository();
    await assert.rejects(
      repo.withTenant('default', (s) => s.query('SELECT 1' as SearchSql, [])),
      /not supported in memory/,
    );
  });

  it('hands out copies: changing a returned version changes nothing stored', async () => {
    const repo = new MemoryRepository();
    await repo.withTenant('default', (s) => s.writeVersion(version('Patient', 'a', 1, 1)));
    const read = await repo.withTenant('default', (s) => s.readCurrent('Patient', 'a'));
    read!.lastUpdated.setTime(0);
    read!.versionId = 9;
    const again = await repo.withTenant('default', (s) => s.readCurrent('Patient', 'a'));
    assert.equal(again?.versionId, 1);
    assert.notEqual(again?.lastUpdated.getTime(), 0);
  });

  it('starts with the default tenant', async () => {
    assert.equal((await new MemoryRepository().findTenant('default'))?.id, 'default');
  });
});
