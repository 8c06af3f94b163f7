// capabilities (FHIR R4 http.html#capabilities): the CapabilityStatement is generated from
// the router's own table of implemented interactions, never hand-claimed.
import { buildCapabilityStatement } from '../capabilities.js';
import { RESOURCE_TYPES } from '../resource-types.js';
import type { FhirRequest } from '../types.js';
import { COLUMN_PARAMS } from '../../search/indexer.js';
import { moduleFor } from '../../search/params/modules.js';
import type { SearchRegistry } from '../../search/registry/registry.js';
import type { Interaction } from './context.js';

/** Interactions the router dispatches for every resource type. Keep in step with router.ts. */
export const TYPE_INTERACTIONS = Object.freeze([
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
] as const);

export const SYSTEM_INTERACTIONS = Object.freeze(['history-system'] as const);

const cache = new Map<string, unknown>();

/** Search parameters really served for a type: those whose parameter type has a module. */
function searchParamsFor(registry: SearchRegistry, type: string) {
  return [...registry.forType(type).values()]
    .filter((def) => COLUMN_PARAMS.has(def.code) || (moduleFor(def.type) && def.expression))
    .map((def) => ({ name: def.code, type: def.type, definition: def.url }));
}

export function capabilitiesInteraction(req: FhirRequest, softwareVersion: string, registry: () => SearchRegistry): Interaction {
  return {
    target: { interaction: 'capabilities' },
    readOnly: true,
    async withoutStore() {
      let statement = cache.get(req.baseUrl);
      if (!statement) {
        statement = buildCapabilityStatement({
          baseUrl: req.baseUrl,
          softwareVersion,
          date: new Date().toISOString(),
          resources: RESOURCE_TYPES.map((type) => ({
            type,
            interactions: TYPE_INTERACTIONS,
            versioning: 'versioned-update',
            conditionalCreate: true,
            conditionalUpdate: true,
            conditionalDelete: 'single',
            conditionalRead: 'full-support',
            readHistory: true,
            updateCreate: true,
            searchParams: searchParamsFor(registry(), type),
          })),
          systemInteractions: SYSTEM_INTERACTIONS,
        });
        if (cache.size > 100) cache.clear();
        cache.set(req.baseUrl, statement);
      }
      return { status: 200, headers: {}, body: { kind: 'json', value: statement } };
    },
    run: async () => {
      throw new Error('capabilities needs no store');
    },
  };
}
