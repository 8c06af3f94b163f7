// capabilities (FHIR R4 http.html#capabilities): the CapabilityStatement is generated from
// the router's own table of implemented interactions and from the operation registry it
// dispatches $operations by, never hand-claimed.
import { buildCapabilityStatement } from '../capabilities.js';
import { RESOURCE_TYPES } from '../../core/resource-types.js';
import type { FhirRequest } from '../../core/types.js';
import { COLUMN_PARAMS } from '../../search/indexer.js';
import { moduleFor } from '../../search/params/modules.js';
import { isTextParam } from '../../search/text-search.js';
import type { SearchRegistry } from '../../search/registry/registry.js';
import { RESOURCE_LEVEL_TYPE } from '../../search/system.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import type { Interaction, InteractionDeps } from './context.js';
import { appliesTo, definitionUrl, type OperationRegistry } from '../operations/registry.js';
import { withoutRefusedWrites } from '../append-only.js';

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

export const SYSTEM_INTERACTIONS = Object.freeze(['transaction', 'batch', 'search-system', 'history-system'] as const);

/** _type for system search (search.html#all); R4 defines no SearchParameter resource for it. */
const TYPE_PARAM = Object.freeze({
  name: '_type',
  type: 'token',
  documentation: 'System search: the resource types to search, comma-separated. Without it, only the parameters every resource has (base Resource) are allowed.',
});

/** _list (search.html#list) applies to every type; R4 defines no SearchParameter resource for it. */
const LIST_PARAM = Object.freeze({
  name: '_list',
  type: 'special',
  documentation: 'The resources of this type that the entries of the List with this id refer to (functional lists such as $current-allergies are not supported).',
});

/** Built statements per operation registry, by base URL, tenant and search-parameter generation. */
const caches = new WeakMap<OperationRegistry, Map<string, unknown>>();

/** Search parameters really served for a type: those whose parameter type has a module. */
function searchParamsFor(registry: SearchRegistry, type: string) {
  return [...registry.forType(type).values()]
    .filter((def) => COLUMN_PARAMS.has(def.code) || isTextParam(def.code) || (moduleFor(def.type) && def.expression))
    .map((def) => ({ name: def.code, type: def.type, definition: def.url }));
}

/**
 * The registry's operations at one place: rest.operation for [base] (type undefined),
 * rest.resource.operation for a type (those invocable on the type or its instances).
 */
function operationsAt(operations: OperationRegistry, baseUrl: string, type?: string) {
  return operations.entries
    .filter((entry) => (type === undefined ? appliesTo(entry, 'system') : appliesTo(entry, 'type', type) || appliesTo(entry, 'instance', type)))
    .map((entry) => ({ name: entry.name, definition: definitionUrl(baseUrl, entry) }));
}

export function capabilitiesInteraction(
  req: FhirRequest,
  softwareVersion: string,
  deps: Pick<InteractionDeps, 'searchParams'>,
  operations: OperationRegistry,
): Interaction {
  return {
    target: { interaction: 'capabilities' },
    readOnly: true,
    // Inside the tenant's transaction: its custom search parameters are part of the statement.
    async run(store: ResourceStore) {
      const { searching, generation } = await deps.searchParams.load(store);
      const key = `${req.baseUrl} ${store.tenantId} ${generation}`;
      let cache = caches.get(operations);
      if (!cache) caches.set(operations, (cache = new Map()));
      let statement = cache.get(key);
      if (!statement) {
        statement = buildCapabilityStatement({
          baseUrl: req.baseUrl,
          softwareVersion,
          date: new Date().toISOString(),
          resources: RESOURCE_TYPES.map((type) => withoutRefusedWrites({
            type,
            interactions: TYPE_INTERACTIONS,
            versioning: 'versioned-update',
            conditionalCreate: true,
            conditionalUpdate: true,
            conditionalDelete: 'single',
            conditionalRead: 'full-support',
            readHistory: true,
            updateCreate: true,
            searchParams: [...searchParamsFor(searching, type), LIST_PARAM],
            operations: operationsAt(operations, req.baseUrl, type),
          })),
          systemInteractions: SYSTEM_INTERACTIONS,
          // System search takes _type and the parameters every resource has (RESOURCE_LEVEL_TYPE's).
          systemSearchParams: [TYPE_PARAM, ...searchParamsFor(searching, RESOURCE_LEVEL_TYPE)],
          operations: operationsAt(operations, req.baseUrl),
        });
        if (cache.size > 100) cache.clear();
        cache.set(key, statement);
      }
      return { status: 200, headers: {}, body: { kind: 'json', value: statement } };
    },
  };
}
