// The read side of the data constraint for one request (issue 10, "Scopes and enforcement";
// SMART App Launch 2.x): FhirService binds the request's AccessContext and the tenant's search
// parameters to the store of its transaction (bindRequestAccess), and every reading path — read,
// vread, history, search, conditional criteria — asks requestAccess() for the caller's scope
// built once for that tenant registry (access-scope.ts), the store-level reach (reads, vreads,
// history through the current rows) and a per-version check for content the store cannot index
// (old versions in history and vread).
import { FhirError } from '../../core/errors.js';
import type { Permission } from '../../core/smart-scopes.js';
import type { AccessContext, JsonObject } from '../../core/types.js';
import { reachMatches, rowReach } from '../../search/reach.js';
import type { SearchRegistry } from '../../search/registry/registry.js';
import type { TenantSearchParameters } from '../../search/tenant-params.js';
import type { SearchIndex } from '../../search/types.js';
import type { ResourceStore, RowReach } from '../../storage/resource-store.js';
import { accessScope, readsWholeTenant, type AccessScope } from './access-scope.js';

export interface RequestAccess {
  scope: AccessScope;
  /** The tenant's searchable parameters (what the scope was built with). */
  searching: SearchRegistry;
  /** The store-level reach through `letters` (undefined: no constraint). */
  reach(letters: readonly Permission[]): RowReach | undefined;
  /** Whether a stored version's content (JSON text; null for a tombstone) is within reach through `letters`. */
  versionInReach(type: string, id: string, content: string | null, letters: readonly Permission[]): boolean;
}

const bound = new WeakMap<ResourceStore, { access: AccessContext; searchParams: TenantSearchParameters }>();

/** Called by FhirService for each transaction it opens: the access every reading path of that store obeys. */
export function bindRequestAccess(store: ResourceStore, access: AccessContext, searchParams: TenantSearchParameters): void {
  bound.set(store, { access, searchParams });
}

/**
 * The caller's access for reads through `store`. `access` is the request's own context; the one
 * bound by FhirService wins. A store FhirService did not open (direct calls in tests) serves
 * administrators only: anyone else fails closed.
 */
export async function requestAccess(store: ResourceStore, access?: AccessContext): Promise<RequestAccess> {
  const binding = bound.get(store);
  const caller = binding?.access ?? access;
  if (!caller || (!binding && !caller.isAdmin)) throw new FhirError(500, { code: 'exception', diagnostics: 'No access context for this transaction' });
  // The tenant's search parameters are needed only to confine or constrain: loading them costs a
  // read transaction a round trip (its generation is not prefetched), so callers who read the
  // whole tenant (administrators, system/*.rs) skip it.
  const state = binding && !readsWholeTenant(caller) ? await binding.searchParams.load(store) : undefined;
  const searching = state?.searching;
  const scope = searching ? accessScope(caller, searching) : accessScope(caller, EMPTY_REGISTRY);
  return {
    scope,
    searching: searching ?? EMPTY_REGISTRY,
    reach: (letters) => rowReach(scope, letters),
    versionInReach(type, id, content, letters) {
      if (scope.unrestricted) return true;
      const reach = scope.reach(type, letters);
      if (reach.kind !== 'some') return reach.kind === 'all';
      const index = content === null || !state ? null : (state.indexer({ ...(JSON.parse(content) as JsonObject), id }) as SearchIndex);
      return reachMatches(reach, id, index);
    },
  };
}

/** Only for administrators on an unbound store, whose scope never consults a registry. */
const EMPTY_REGISTRY: SearchRegistry = {
  forType: () => new Map(),
  get: () => undefined,
  compartmentParams: () => [],
};
