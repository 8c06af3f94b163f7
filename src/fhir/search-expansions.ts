// How search `:in`/`:not-in` find a ValueSet's codes (issue 12): the ValueSet by canonical (the
// tenant's, else shared), its cached expansion (computed and stored on first use), and the id
// whose rows the search SQL joins. In a READ ONLY transaction a first expansion cannot be stored:
// cachedExpansion has the request run again read-write, once (NeedsWritableTransaction, fhir/service.ts).
import type { ValueSetExpander } from '../search/terminology-plan.js';
import { notSupported } from '../core/errors.js';
import { splitCanonical } from '../terminology/definitions.js';
import { cachedExpansion, expansionPage } from '../terminology/expand.js';
import type { InteractionDeps } from './interactions/context.js';
import { terminologyContext } from './terminology-definitions.js';

export function valueSetExpander(deps: Pick<InteractionDeps, 'search' | 'searchParams'>, maxCodes?: number): ValueSetExpander {
  return async (store, canonical, few) => {
    const ctx = terminologyContext(store, deps);
    const { url, version } = splitCanonical(canonical);
    const valueSet = await ctx.definitions.find('ValueSet', url, version);
    if (!valueSet) return undefined;
    const expansion = await cachedExpansion(ctx, valueSet, { maxCodes });
    // cachedExpansion asks for the read-write rerun itself; no id is left only where nothing can be stored.
    if (expansion.id === undefined) throw notSupported(`:in and :not-in need the expansion of ${canonical} stored in PostgreSQL`);
    if (expansion.total > few) return { id: expansion.id, drawn: { count: expansion.total } };
    const { codes } = await expansionPage(ctx, expansion, { offset: 0, count: few });
    return { id: expansion.id, drawn: { count: codes.length, codes: codes.map((c) => ({ s: c.system, c: c.code })) } };
  };
}
