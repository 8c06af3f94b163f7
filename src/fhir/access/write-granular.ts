// Does one version of a resource match a v2 granular scope's constraint (SMART App Launch 2.x
// scopes-and-launch-context.html#finer-grained-resource-constraints-using-search-parameters,
// e.g. `patient/Observation.cu?category=...|laboratory`)? The write side decides it in memory,
// with the search layer's own matchers (each parameter type's `matches`, search/types.ts) on the
// version's index entries, so a write is judged exactly as the same search would find the row.
//
// Only what can be decided on the resource alone is evaluated: index parameters (token,
// reference, string, date, ...) and `_id`. A constraint that needs other rows or the stored row
// (chains, `_has`, `_list`, `_text`/`_content`, `_lastUpdated`, result parameters such as
// `_count`), or that names a parameter the type does not have, cannot be evaluated: the scope
// then allows no write of that type (fail closed), and the refusal says why.
import { FhirError } from '../../core/errors.js';
import { INCLUDE, RESULT_PARAMS, parseSearchQuery } from '../../search/parse-query.js';
import { moduleFor } from '../../search/params/modules.js';
import type { Filter } from '../../search/query.js';
import type { SearchRegistry } from '../../search/registry/registry.js';
import type { SearchIndex } from '../../search/types.js';

/** A constraint parsed for one type: its filters, or why it cannot be evaluated on a write. */
type Parsed = { filters: Filter[] } | { unusable: string };

const parsedByRegistry = new WeakMap<SearchRegistry, Map<string, Parsed>>();
const MAX_CACHED = 500;

function parse(registry: SearchRegistry, type: string, constraints: URLSearchParams): Parsed {
  const key = `${type}?${constraints.toString()}`;
  let cache = parsedByRegistry.get(registry);
  if (!cache) parsedByRegistry.set(registry, (cache = new Map()));
  let parsed = cache.get(key);
  if (!parsed) {
    parsed = parseUncached(registry, type, constraints);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, parsed);
  }
  return parsed;
}

function parseUncached(registry: SearchRegistry, type: string, constraints: URLSearchParams): Parsed {
  for (const name of constraints.keys()) {
    if (RESULT_PARAMS.has(name) || INCLUDE.test(name)) return { unusable: `'${name}' is not a search condition` };
  }
  try {
    const query = parseSearchQuery(registry, type, constraints, { lenient: false, defaultCount: 1, maxCount: 1 });
    for (const filter of query.filters) {
      if (filter.kind !== 'index' && filter.kind !== 'id') return { unusable: `a ${filter.kind} condition cannot be checked on a written resource` };
      if (filter.kind === 'index' && !moduleFor(filter.def.type)) return { unusable: `'${filter.def.code}' cannot be checked on a written resource` };
    }
    return { filters: query.filters };
  } catch (error) {
    if (error instanceof FhirError) return { unusable: error.outcome.issue.map((i) => i.diagnostics ?? i.code).join('; ') };
    throw error;
  }
}

function filterMatches(filter: Filter, id: string, index: SearchIndex): boolean {
  if (filter.kind === 'id') return filter.ids.includes(id) !== filter.negate;
  if (filter.kind !== 'index') return false; // parse() lets no other kind through
  const module = moduleFor(filter.def.type);
  return module !== undefined && module.matches(filter.def, filter.modifier, filter.values, index);
}

/**
 * Why the version of `type`/`id` with search index `index` does not satisfy `constraints` (every
 * parameter, each with its comma-separated alternatives, as a search reads them); undefined when
 * it does.
 */
export function granularProblem(registry: SearchRegistry, type: string, id: string, index: SearchIndex, constraints: URLSearchParams): string | undefined {
  const parsed = parse(registry, type, constraints);
  if ('unusable' in parsed) return `its condition ?${constraints.toString()} cannot be evaluated on ${type}: ${parsed.unusable}`;
  const failing = parsed.filters.find((filter) => !filterMatches(filter, id, index));
  if (!failing) return undefined;
  const name = failing.kind === 'index' ? failing.def.code : '_id';
  return `it does not match the scope's condition on ${name}`;
}
