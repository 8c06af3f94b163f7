// Criteria matched in memory: a FHIR search (`Type?query`, as in R4 Subscription.criteria,
// subscription.html#criteria, and the optional criteria of a sync rule) compiled ONCE into a
// test of one resource's id, search index and lastUpdated, with no database. The outbox hook
// runs it inside the write transaction for every change, so it must be cheap and decide
// exactly what a search would decide on the same index entries (src/search/types.ts).
//
// Parsing is parse-query.ts's, strict (search.html#errors): an unknown parameter or a bad value
// is a 400. On top of that a criteria is refused, when the rule or Subscription is created,
// if it asks for anything the index of the one resource cannot answer: chains, _has, _text,
// _content, _list (other rows or the database), the token modifiers :in, :not-in, :below,
// :above (terminology), _include/_revinclude and result parameters (_sort, _count, ...: they
// shape a result set, not a match). Refusing beats a criteria that silently never matches.
//
// Matching reuses the parameter-type modules' own `matches` through reach.ts (the in-memory
// twin of the SQL the search engine runs); `_lastUpdated` reuses the date module over the
// given lastUpdated, as where-sql.ts does over the column.
import { badRequest, FhirError } from '../core/errors.js';
import { isResourceType } from '../core/resource-types.js';
import { moduleFor } from './params/modules.js';
import { INCLUDE, parseSearchQuery, RESULT_PARAMS } from './parse-query.js';
import type { Filter, IdFilter, IndexFilter, LastUpdatedFilter } from './query.js';
import { reachMatches, type TypeReach } from './reach.js';
import type { SearchRegistry } from './registry/registry.js';
import type { SearchIndex, SearchParamDef } from './types.js';

export interface CompiledCriteria {
  /** The resource type the criteria names; the caller tests only resources of this type. */
  readonly resourceType: string;
  /**
   * True when the resource `id` with search index `index` (what the write path stores,
   * search.indexer(resource)) matches every parameter. `lastUpdated` is needed only when the
   * criteria filters on `_lastUpdated` (an Error otherwise: the caller must pass it).
   */
  matches(id: string, index: SearchIndex, lastUpdated?: Date): boolean;
}

/** The parse options: strict; the counts are irrelevant since result parameters are refused. */
const STRICT = { lenient: false, defaultCount: 1, maxCount: 1 } as const;

const notSupported = (name: string, why: string): FhirError =>
  new FhirError(400, { code: 'not-supported', diagnostics: `Criteria parameter '${name}' cannot be matched in memory: ${why}`, expression: [name] });

/** `Type?query` (leading '/' allowed) split into the type and its parameters; a 400 when malformed. */
function splitCriteria(criteria: string): { resourceType: string; params: URLSearchParams } {
  const text = criteria.trim().replace(/^\//, '');
  const mark = text.indexOf('?');
  const resourceType = mark < 0 ? text : text.slice(0, mark);
  if (resourceType === '') throw badRequest(`Criteria '${criteria}' names no resource type (expected Type?parameters)`);
  if (!/^[A-Z][A-Za-z]+$/.test(resourceType) || !isResourceType(resourceType)) {
    throw badRequest(`Criteria '${criteria}': '${resourceType.slice(0, 64)}' is not a resource type (expected Type?parameters)`);
  }
  // As a search URL's query (bundle entries read theirs the same way): '+' is a space, %2B a plus.
  return { resourceType, params: new URLSearchParams(mark < 0 ? '' : text.slice(mark + 1)) };
}

/** Refuses what shapes a result set rather than filtering: it has no meaning for one resource. */
function refuseResultParams(params: URLSearchParams): void {
  for (const name of params.keys()) {
    if (RESULT_PARAMS.has(name) || INCLUDE.test(name)) {
      throw badRequest(`Criteria parameter '${name}' shapes search results and has no meaning in a criteria`, [name]);
    }
  }
}

/**
 * Refuses an index filter its module cannot decide in memory: a dry run on an empty index, since
 * a module's `matches` throws a 400 naming the parameter for what it cannot match without the
 * database (token :in, :not-in, :below, :above need terminology, params/token.ts), so such a
 * criteria fails when the rule is created, not at every write. The other modules refuse what
 * they cannot match when parsing already (reference :above/:below, unresolved composites,
 * special parameters other than near). Any other error is a bug and stays one (a 500).
 */
function checkIndexFilter(filter: IndexFilter): void {
  // A type without a module was refused by parse-query already.
  moduleFor(filter.def.type)?.matches(filter.def, filter.modifier, filter.values, {});
}

type MemoryFilter = IdFilter | IndexFilter | LastUpdatedFilter;

/** The filter if it can be matched in memory; a 400 naming the parameter otherwise. */
function checkFilter(filter: Filter, name: string): MemoryFilter {
  switch (filter.kind) {
    case 'id':
    case 'lastUpdated':
      return filter;
    case 'index':
      checkIndexFilter(filter);
      return filter;
    case 'chain':
      throw notSupported(name, 'a chain needs the resources it refers to');
    case 'has':
      throw notSupported(name, '_has needs the resources that refer to this one');
    case 'text':
      throw notSupported(name, `${filter.param} is a full text search in the database`);
    case 'list':
      throw notSupported(name, '_list needs the List resources');
    case 'compartment':
      throw notSupported(name, 'a compartment search needs the compartment');
  }
}

/** `_lastUpdated` filters over one instant, as where-sql.ts reads the column: [ms, ms + 1). */
function lastUpdatedMatcher(def: SearchParamDef, filters: LastUpdatedFilter[]): (lastUpdated: Date) => boolean {
  const date = moduleFor('date');
  if (!date) throw new Error('the date module is missing');
  return (lastUpdated) => {
    const ms = lastUpdated.getTime();
    const index: SearchIndex = { [def.code]: [[ms, ms + 1]] };
    return filters.every((f) => date.matches(def, undefined, f.values, index));
  };
}

/**
 * Compiles `criteria` (`Type` or `Type?query`, search.html syntax) against `registry` (the
 * tenant's, with its custom SearchParameters). Throws FhirError 400 when the criteria is
 * malformed or cannot be evaluated in memory, naming the parameter.
 */
export function compileCriteria(registry: SearchRegistry, criteria: string): CompiledCriteria {
  const { resourceType, params } = splitCriteria(criteria);
  refuseResultParams(params);
  const query = parseSearchQuery(registry, resourceType, params, STRICT);
  // With result parameters and includes refused, each parameter became exactly one filter, in order.
  const names = [...params.keys()];
  const filters = query.filters.map((filter, i) => checkFilter(filter, names[i] ?? filter.kind));
  const rowFilters = filters.filter((f): f is IdFilter | IndexFilter => f.kind !== 'lastUpdated');
  const lastUpdatedFilters = filters.filter((f): f is LastUpdatedFilter => f.kind === 'lastUpdated');
  // The id and index filters are the ones a data constraint is made of: reach.ts matches them.
  const reach: TypeReach = { kind: 'some', any: [rowFilters] };
  const lastUpdatedDef = lastUpdatedFilters.length > 0 ? registry.get(resourceType, '_lastUpdated') : undefined;
  const lastUpdatedOk = lastUpdatedDef ? lastUpdatedMatcher(lastUpdatedDef, lastUpdatedFilters) : undefined;
  return Object.freeze({
    resourceType,
    matches(id: string, index: SearchIndex, lastUpdated?: Date): boolean {
      if (lastUpdatedOk && !lastUpdated) throw new Error(`criteria '${criteria}' filters on _lastUpdated: pass the resource's lastUpdated`);
      return reachMatches(reach, id, index) && (!lastUpdatedOk || lastUpdatedOk(lastUpdated as Date));
    },
  });
}
