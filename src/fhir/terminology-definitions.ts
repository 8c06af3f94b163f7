// TerminologyDefinitions over the tenant's stored resources (a search by url and version, as
// any client would run it) and, failing that, the shared definitions (src/terminology/definitions.ts).
import type { JsonObject } from '../core/types.js';
import type { ResourceStore } from '../storage/resource-store.js';
import type { DefinitionType, TerminologyContext, TerminologyDefinitions } from '../terminology/definitions.js';
import type { InteractionDeps } from './interactions/context.js';

/** More versions of one canonical than this in one tenant are not looked through. */
const MAX_VERSIONS = 50;

function storedDefinitions(store: ResourceStore, deps: Pick<InteractionDeps, 'search' | 'searchParams'>): TerminologyDefinitions {
  return {
    async find(type: DefinitionType, url: string, version?: string): Promise<JsonObject | undefined> {
      const params = new URLSearchParams({ url });
      if (version !== undefined) params.set('version', version);
      const { searching } = await deps.searchParams.load(store);
      const matches = await deps.search.findMatches(store, type, params, MAX_VERSIONS, searching);
      if (matches.length > 0) {
        // Newest written first: the tenant's current definition of the canonical.
        const newest = matches.reduce((a, b) => (b.lastUpdated > a.lastUpdated ? b : a));
        return JSON.parse(newest.content as string) as JsonObject;
      }
      const [shared] = await store.terminology.sharedResources(type, url, version);
      return shared;
    },
  };
}

/** What terminology operations and terminology-aware search work with, for one transaction. */
export function terminologyContext(store: ResourceStore, deps: Pick<InteractionDeps, 'search' | 'searchParams'>): TerminologyContext {
  return { store: store.terminology, definitions: storedDefinitions(store, deps) };
}
