// A FhirService on the migrated test database (audit off, no HTTP) with one fresh tenant, for
// end-to-end search tests: create resources under names, then search and get the names back.
import assert from 'node:assert/strict';
import { createFhirService } from '../../src/compose.js';
import { loadConfig } from '../../src/core/config.js';
import { ANONYMOUS_ACCESS, type JsonObject } from '../../src/core/types.js';
import { newTenant, testPool } from './database.js';
import { requestsTo } from './service-requests.js';

export interface NamedResources {
  /** Creates `resource` as `name` (201 asserted). */
  create(name: string, resource: JsonObject): Promise<void>;
  /** The names of what `type?query` finds, sorted (200 asserted). */
  found(type: string, query: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function namedResourcesOnTestDatabase(): Promise<NamedResources> {
  const pool = await testPool();
  const composition = createFhirService(loadConfig({ HEARTH_AUDIT: 'off' }), { pool, mode: 'postgres', close: async () => undefined }, undefined, { analyzeAsWritten: false });
  const tenant = await newTenant(pool);
  const send = requestsTo(composition.service, () => tenant);
  const names = new Map<string, string>();
  return {
    async create(name, resource) {
      const created = await send(ANONYMOUS_ACCESS, 'POST', String(resource.resourceType), { body: resource, bodyKind: 'resource' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      names.set(String(created.body?.id), name);
    },
    async found(type, query) {
      const answer = await send(ANONYMOUS_ACCESS, 'GET', `${type}?${query}`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const entries = (answer.body as { entry?: { resource: { id: string } }[] }).entry ?? [];
      return entries.map((e) => names.get(e.resource.id) ?? e.resource.id).sort();
    },
    close: () => composition.maintenance.close(),
  };
}
