// Per-tenant search registries (search.html#custom): the R4 parameters plus the tenant's own
// active SearchParameter resources. A custom parameter is indexed on every write from the
// moment it is stored, but only searchable (and listed in the CapabilityStatement) once a
// completed $reindex job has indexed the rows stored before it, for the types that job covered;
// until then a search naming it gets a 400 saying to run $reindex.
//
// Cached per tenant under a generation read on each use (SearchParameterStore.generation: count
// and newest change of the tenant's SearchParameters and completed reindex jobs), so every API
// node sees a change at its next request without a cache TTL. Tenants with no custom
// parameters share the base registry.
import type { SearchParameter } from 'fhir/r4.js';
import type { ResourceStore } from '../storage/resource-store.js';
import type { ReindexCoverage } from '../storage/search-parameter-store.js';
import { assertUsableSearchParameter, baseTypes, isActive } from './custom-params.js';
import { createIndexer, type Indexer } from './indexer.js';
import { createSearchRegistry, type SearchRegistry } from './registry/registry.js';

export interface CustomParam {
  id: string;
  versionId: number;
  resource: SearchParameter;
  /** Types it is searchable on (a completed reindex covered them for this version). */
  searchableOn: string[];
}

export interface TenantSearchState {
  generation: string;
  /** Every active parameter: what writes and reindex jobs index. */
  indexing: SearchRegistry;
  indexer: Indexer;
  /** The parameters a search may name; pending custom ones explain themselves. */
  searching: SearchRegistry;
  custom: readonly CustomParam[];
}

const MAX_CACHED_TENANTS = 1000;

export class TenantSearchParameters {
  private readonly cache = new Map<string, TenantSearchState>();
  private readonly baseState: Omit<TenantSearchState, 'generation'>;

  constructor(readonly base: SearchRegistry) {
    this.baseState = Object.freeze({ indexing: base, indexer: createIndexer(base), searching: base, custom: Object.freeze([]) });
  }

  /** States already read within a transaction: a conditional write or a bundle reads once. */
  private readonly perStore = new WeakMap<ResourceStore, Promise<TenantSearchState>>();

  /** The tenant's current state (inside its transaction, so RLS scopes every read). */
  load(store: ResourceStore): Promise<TenantSearchState> {
    let state = this.perStore.get(store);
    if (!state) {
      state = this.read(store);
      this.perStore.set(store, state);
    }
    return state;
  }

  /** After a SearchParameter is written in `store`'s transaction: later reads there see it. */
  forget(store: ResourceStore): void {
    this.perStore.delete(store);
  }

  private async read(store: ResourceStore): Promise<TenantSearchState> {
    const generation = await store.searchParameters.generation();
    const cached = this.cache.get(store.tenantId);
    if (cached?.generation === generation) return cached;
    const state = await this.build(store, generation);
    if (this.cache.size >= MAX_CACHED_TENANTS) this.cache.clear();
    this.cache.set(store.tenantId, state);
    return state;
  }

  private async build(store: ResourceStore, generation: string): Promise<TenantSearchState> {
    const { parameters, coverage } = await store.searchParameters.readState();
    const active = parameters
      .map((r) => ({ id: r.id, versionId: r.versionId, resource: JSON.parse(r.content) as SearchParameter }))
      .filter((p) => isActive(p.resource) && usable(p.resource));
    if (active.length === 0) return { generation, ...this.baseState };
    const covered = coveredTypes(coverage);
    const custom = active.map((p) => ({ ...p, searchableOn: baseTypes(p.resource).filter((t) => covered.get(`${p.id}/${p.versionId}`)?.has(t)) }));
    const indexing = createSearchRegistry({ extra: custom.map((p) => p.resource) });
    const pending = new Map<string, CustomParam>();
    for (const p of custom) for (const t of baseTypes(p.resource)) if (!p.searchableOn.includes(t)) pending.set(`${t}.${p.resource.code}`, p);
    const searching = createSearchRegistry({
      extra: custom.filter((p) => p.searchableOn.length > 0).map((p) => ({ ...p.resource, base: p.searchableOn as SearchParameter['base'] })),
      pending: (type, code) => {
        const p = pending.get(`${type}.${code}`);
        return p && `Search parameter '${code}' (SearchParameter/${p.id}) is not indexed for ${type} yet: run POST [base]/SearchParameter/${p.id}/$reindex and wait for the job to complete`;
      },
    });
    return Object.freeze({ generation, indexing, indexer: createIndexer(indexing), searching, custom: Object.freeze(custom) });
  }
}

/** `id/version` -> types some completed reindex job indexed that version for. */
function coveredTypes(coverage: readonly ReindexCoverage[]): Map<string, Set<string>> {
  const covered = new Map<string, Set<string>>();
  for (const p of coverage) {
    const key = `${p.id}/${p.versionId}`;
    const types = covered.get(key) ?? new Set<string>();
    p.types.forEach((t) => types.add(t));
    covered.set(key, types);
  }
  return covered;
}

/** Stored before validation existed or by an operator: skip rather than break the tenant's searches. */
function usable(sp: SearchParameter): boolean {
  try {
    assertUsableSearchParameter(sp);
    return true;
  } catch {
    return false;
  }
}
