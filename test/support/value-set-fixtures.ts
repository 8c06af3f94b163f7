// Terminology fixtures (test/integration/terminology-expand.test.ts, terminology-store.test.ts,
// test/e2e/value-set-operations.test.ts): a small code system and loading one into a tenant.
import type { JsonObject } from '../../src/core/types.js';
import type { ResourceStore } from '../../src/storage/resource-store.js';
import { codeSystemContent } from '../../src/terminology/code-system-content.js';

/** A small hierarchy: A over B (over D), C, E (inactive); Z is-a A by property. */
export function animals(url: string): JsonObject {
  return {
    resourceType: 'CodeSystem',
    url,
    version: '1',
    status: 'active',
    content: 'complete',
    property: [{ code: 'colour', type: 'code' }, { code: 'inactive', type: 'boolean' }],
    concept: [
      {
        code: 'A',
        display: 'Animal kingdom',
        designation: [{ language: 'de', value: 'Tierreich' }],
        concept: [
          { code: 'B', display: 'Bird of prey', property: [{ code: 'colour', valueCode: 'brown' }], concept: [{ code: 'D', display: 'Desert hawk' }] },
          { code: 'C', display: 'Cat family', designation: [{ language: 'de-CH', value: 'Katzen' }], property: [{ code: 'colour', valueCode: 'grey' }] },
          { code: 'E', display: 'Extinct beast', property: [{ code: 'inactive', valueBoolean: true }] },
        ],
      },
      { code: 'Z', display: 'Zebra-like', property: [{ code: 'parent', valueCode: 'A' }] },
    ],
  };
}

/** Loads `resource`'s concepts into the tenant (as the CodeSystem write hook will). */
export async function loadCodeSystem(store: ResourceStore, resource: JsonObject): Promise<void> {
  const { header, concepts, edges } = codeSystemContent(resource);
  const writer = await store.terminology.beginCodeSystem(header);
  await writer.addConcepts(concepts);
  await writer.addParents(edges);
  await writer.finish();
}

