// Terminology resolved before SQL (issue 12, "Search plumbing"): like chains are planned
// (plan.ts), filters whose module needs terminology (token :below/:above/:in/:not-in) get it
// here — the code system version whose closure to join, the id of a cached expansion — so the
// SQL names rows of concept storage instead of carrying thousands of codes as binds.
import { notSupported } from '../core/errors.js';
import type { ResourceStore } from '../storage/resource-store.js';
import { moduleFor } from './params/modules.js';
import type { Filter, SearchQuery } from './query.js';
import type { DrawnCodes, TerminologyResolver } from './types.js';

/** Finds (and caches) the expansion of a ValueSet for a tenant's transaction: wired by the composition root. */
export type ValueSetExpander = (store: ResourceStore, canonical: string, max: number) => Promise<{ id: string; drawn: DrawnCodes } | undefined>;

/** The resolver of one transaction: hierarchies from concept storage, expansions from `expander`. */
export function terminologyResolver(store: ResourceStore, expander: ValueSetExpander | undefined): TerminologyResolver {
  return {
    async hierarchy(system) {
      const [version] = await store.terminology.codeSystems(system);
      return version && { id: version.id, scope: version.scope };
    },
    async closureCodes(version, code, direction, max) {
      const codes = await store.terminology.closureCodes(version, code, direction, max + 1);
      return codes.length > max ? { count: codes.length } : { count: codes.length, codes: codes.map((c) => ({ s: version.url, c })) };
    },
    async expansion(canonical, max) {
      if (!expander) throw notSupported(':in and :not-in need ValueSet expansion, which this server was built without');
      return expander(store, canonical, max);
    },
  };
}

async function resolveFilter(filter: Filter, resolver: () => TerminologyResolver): Promise<Filter> {
  switch (filter.kind) {
    case 'index': {
      const module = moduleFor(filter.def.type);
      if (!module?.resolve || filter.modifier === undefined) return filter;
      const values = await module.resolve(filter.def, filter.modifier, filter.values, resolver());
      return values === filter.values ? filter : { ...filter, values };
    }
    case 'chain':
    case 'has': {
      const inner = await resolveFilter(filter.inner, resolver);
      return inner === filter.inner ? filter : { ...filter, inner };
    }
    default:
      return filter;
  }
}

/** The query with every filter's terminology resolved (the same object when none needs any). */
export async function resolveTerminology(query: SearchQuery, resolver: () => TerminologyResolver): Promise<SearchQuery> {
  let memo: TerminologyResolver | undefined;
  const once = () => (memo ??= resolver());
  const filters = await Promise.all(query.filters.map((f) => resolveFilter(f, once)));
  return filters.every((f, i) => f === query.filters[i]) ? query : { ...query, filters };
}
