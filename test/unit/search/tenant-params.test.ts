// TenantSearchParameters (src/search/tenant-params.ts): one read per transaction, again after
// a SearchParameter is written in it, and the R4 registry shared when a tenant has none.
import assert from 'node:assert/strict';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import { TenantSearchParameters } from '../../../src/search/tenant-params.js';
import type { ResourceStore } from '../../../src/storage/resource-store.js';

/** A store whose tenant has no custom parameters, counting the reads it is asked for. */
function countingStore(): ResourceStore & { statements: string[] } {
  const statements: string[] = [];
  return {
    tenantId: 't',
    statements,
    searchParameters: {
      generation: async () => (statements.push('generation'), '0/ 0/'),
      readState: async () => (statements.push('readState'), { parameters: [], coverage: [] }),
    },
  } as unknown as ResourceStore & { statements: string[] };
}

describe('TenantSearchParameters', () => {
  const base = createSearchRegistry();

  it('reads the generation once per transaction, and again after forget()', async () => {
    const params = new TenantSearchParameters(base);
    const store = countingStore();
    const first = await params.load(store);
    assert.equal(await params.load(store), first);
    assert.equal(store.statements.length, 2, 'generation check and the (empty) SearchParameter list');
    params.forget(store);
    await params.load(store);
    assert.equal(store.statements.length, 3, 'a new generation check; the cached state is reused');
    await params.load(countingStore());
    assert.equal(store.statements.length, 3, 'another transaction reads on its own store');
  });

  it('shares the R4 registry for a tenant without custom parameters', async () => {
    const state = await new TenantSearchParameters(base).load(countingStore());
    assert.equal(state.searching, base);
    assert.equal(state.indexing, base);
    assert.deepEqual(state.custom, []);
  });
});
