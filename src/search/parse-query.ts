// Parses search parameters into a typed SearchQuery (FHIR R4 search.html): names and
// modifiers validated against the registry, values parsed by their type's module.
// Unknown or malformed parameters are a 400 naming the parameter, or, with
// Prefer: handling=lenient, ignored and reported (search.html#errors).
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { badRequest, FhirError } from '../core/errors.js';
import { parseElementsParam, parseSummaryParam } from '../core/summary.js';
import { moduleFor } from './params/modules.js';
import { isStorableText } from './params/shared.js';
import { parseListFilter } from './list-param.js';
import { isTextParam, parseTextFilter } from './text-search.js';
import { isResourceType } from '../core/resource-types.js';
import type { Filter, IncludeSpec, SearchQuery, SortKey, TotalMode } from './query.js';
import type { SearchRegistry } from './registry/registry.js';
import type { ParsedValue } from './types.js';

export interface ParseOptions {
  lenient: boolean;
  defaultCount: number;
  maxCount: number;
}

/** Parameters that shape the result rather than filter it. */
export const RESULT_PARAMS: ReadonlySet<string> = new Set(['_count', '_sort', '_summary', '_elements', '_total', '_page', '_format', '_pretty', '_explain']);
const NOT_YET = new Set(['_query', '_contained', '_containedType', '_filter']);
export const INCLUDE = /^_(include|revinclude)(?::(iterate|recurse))?$/;
/** Nesting limit for chains and _has, so a crafted query cannot build unbounded SQL. */
const MAX_DEPTH = 4;

/** Splits on commas not escaped with a backslash (search.html#escaping). */
export function splitValues(raw: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && i + 1 < raw.length) {
      current += c + raw[i + 1];
      i++;
    } else if (c === ',') {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
}

export function parseSearchQuery(
  registry: SearchRegistry,
  resourceType: string,
  params: URLSearchParams,
  options: ParseOptions,
): SearchQuery {
  const warnings: OperationOutcomeIssue[] = [];
  const query: SearchQuery = { resourceType, filters: [], sort: [], includes: [], count: options.defaultCount, total: 'none', warnings, ignored: [] };
  for (const [name, value] of params) {
    try {
      if (RESULT_PARAMS.has(name)) applyResultParam(registry, query, name, value, options);
      else if (INCLUDE.test(name)) query.includes.push(parseInclude(registry, resourceType, name, value));
      else query.filters.push(parseFilter(registry, resourceType, name, value, 0));
    } catch (error) {
      if (!(error instanceof FhirError) || !options.lenient || error.status !== 400) throw error;
      warnings.push(...error.outcome.issue.map((i) => ({ ...i, severity: 'warning' as const })));
      query.ignored.push(name);
    }
  }
  return query;
}

function parseFilter(registry: SearchRegistry, type: string, name: string, value: string, depth: number): Filter {
  if (depth > MAX_DEPTH) throw badRequest(`Parameter '${name}' nests chains or _has deeper than ${MAX_DEPTH} levels`, [name]);
  if (name.startsWith('_has:')) return parseHas(registry, type, name, value, depth);
  const dot = name.indexOf('.');
  if (dot > 0) return parseChain(registry, type, name, dot, value, depth);
  const [code, modifier, ...extra] = name.split(':');
  if (extra.length > 0 || NOT_YET.has(code)) {
    throw new FhirError(400, { code: 'not-supported', diagnostics: `Parameter '${name}' is not supported yet`, expression: [name] });
  }
  if (code === '_id') return parseIdFilter(name, modifier, value);
  if (code === '_list') return parseListFilter(name, modifier, value); // search.html#list: every type, no SearchParameter in R4
  const def = registry.get(type, code);
  if (!def) throw badRequest(registry.pending?.(type, code) ?? `Unknown search parameter '${code}' for ${type}`, [name]);
  if (isTextParam(code)) return parseTextFilter(code, name, modifier, value); // full text search, not the `sp` index
  if (code === '_lastUpdated') {
    const dateModule = moduleFor('date');
    if (modifier || !dateModule) throw badRequest(`Modifier ':${modifier}' is not valid for _lastUpdated`, [name]);
    return { kind: 'lastUpdated', values: splitValues(value).map((v) => dateModule.parse(def, undefined, v)) };
  }
  const module = moduleFor(def.type);
  if (!module) {
    throw new FhirError(400, { code: 'not-supported', diagnostics: `Search parameter '${code}' of type ${def.type} is not supported yet`, expression: [name] });
  }
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw badRequest(`${name} must be true or false`, [name]);
    return { kind: 'index', def, modifier, values: [{ raw: value }] };
  }
  if (modifier !== undefined && !module.modifiers.includes(modifier) && !isTypeModifier(def.type, modifier)) {
    throw badRequest(`Modifier ':${modifier}' is not valid for ${def.type} parameter '${code}'`, [name]);
  }
  const values: ParsedValue[] = splitValues(value).map((v) => module.parse(def, modifier, v));
  return { kind: 'index', def, modifier, values };
}

/** `subject:Patient.name=x`: the reference parameter, its target type, then the rest on that type. */
function parseChain(registry: SearchRegistry, type: string, name: string, dot: number, value: string, depth: number): Filter {
  const [code, typeModifier, ...extra] = name.slice(0, dot).split(':');
  if (typeModifier !== undefined && !isResourceType(typeModifier)) throw badRequest(`Unknown resource type '${typeModifier}' in chain '${name}'`, [name]);
  const def = registry.get(type, code);
  if (!def) throw badRequest(`Unknown search parameter '${code}' for ${type} in chain '${name}'`, [name]);
  if (def.type !== 'reference' || extra.length > 0) throw badRequest(`Only reference parameters can be chained: '${name}'`, [name]);
  const rest = name.slice(dot + 1);
  const restCode = rest.split(/[.:]/)[0];
  const candidates = typeModifier ? [typeModifier] : (def.targets.length ? def.targets : []).filter((t) => registry.get(t, restCode));
  if (typeModifier && def.targets.length > 0 && !def.targets.includes(typeModifier)) {
    throw badRequest(`'${code}' of ${type} cannot refer to ${typeModifier}`, [name]);
  }
  if (candidates.length !== 1) {
    const why = candidates.length === 0 ? `no target type of '${code}' has a parameter '${restCode}'` : `'${code}' may refer to ${candidates.join(', ')}`;
    throw badRequest(`Ambiguous or impossible chain '${name}': ${why}; name the type, e.g. ${code}:${candidates[0] ?? 'Patient'}.${rest}`, [name]);
  }
  const targetType = candidates[0];
  return { kind: 'chain', def, targetType, inner: parseFilter(registry, targetType, rest, value, depth + 1) };
}

/** `_has:Observation:patient:code=x`; the tail may itself be another `_has:` or a chain. */
function parseHas(registry: SearchRegistry, type: string, name: string, value: string, depth: number): Filter {
  const [, sourceType, refCode, ...restParts] = name.split(':');
  const rest = restParts.join(':');
  if (!sourceType || !refCode || !rest) throw badRequest(`_has needs the form _has:Type:reference:parameter, got '${name}'`, [name]);
  const referenceDef = registry.get(sourceType, refCode);
  if (!referenceDef || referenceDef.type !== 'reference') {
    throw badRequest(`'${refCode}' is not a reference search parameter of ${sourceType} (in '${name}')`, [name]);
  }
  if (referenceDef.targets.length > 0 && !referenceDef.targets.includes(type)) {
    throw badRequest(`${sourceType}.${refCode} cannot refer to ${type} (in '${name}')`, [name]);
  }
  return { kind: 'has', sourceType, referenceDef, inner: parseFilter(registry, sourceType, rest, value, depth + 1) };
}

/** `_include=Source:param[:Target]`, `_revinclude=Source:param`, `*` for every reference parameter. */
function parseInclude(registry: SearchRegistry, type: string, name: string, value: string): IncludeSpec {
  const [, direction, iterateWord] = INCLUDE.exec(name) as RegExpExecArray;
  const [sourceType, code, targetType, ...extra] = value.split(':');
  if (value === '*') return { direction: direction as IncludeSpec['direction'], sourceType: type, iterate: iterateWord !== undefined };
  if (!sourceType || !code || extra.length > 0) throw badRequest(`${name} needs the form Type:parameter[:targetType], got '${value}'`, [name]);
  if (!isResourceType(sourceType)) throw badRequest(`Unknown resource type '${sourceType}' in ${name}`, [name]);
  if (targetType !== undefined && !isResourceType(targetType)) throw badRequest(`Unknown resource type '${targetType}' in ${name}`, [name]);
  const iterate = iterateWord !== undefined;
  if (direction === 'include' && sourceType !== type && !iterate) {
    throw badRequest(`${name}=${value}: the source type must be ${type} (or use _include:iterate)`, [name]);
  }
  if (code === '*') return { direction: direction as IncludeSpec['direction'], sourceType, targetType, iterate };
  const def = registry.get(sourceType, code);
  if (!def || def.type !== 'reference') throw badRequest(`'${code}' is not a reference search parameter of ${sourceType} (in ${name})`, [name]);
  return { direction: direction as IncludeSpec['direction'], sourceType, def, targetType, iterate };
}

/** The filter restricting a search to the compartment of `compartmentType/id`. */
export function compartmentFilter(registry: SearchRegistry, compartmentType: string, id: string, resourceType: string): Filter {
  const defs = registry
    .compartmentParams(compartmentType, resourceType)
    .map((code) => registry.get(resourceType, code))
    .filter((def): def is NonNullable<typeof def> => def !== undefined);
  if (defs.length === 0) throw badRequest(`${resourceType} is not in the ${compartmentType} compartment`);
  return { kind: 'compartment', defs, reference: `${compartmentType}/${id}` };
}

/** Reference parameters take a resource type as modifier (subject:Patient). */
const isTypeModifier = (type: string, modifier: string) => type === 'reference' && /^[A-Z][A-Za-z]+$/.test(modifier);

function parseIdFilter(name: string, modifier: string | undefined, value: string): Filter {
  if (modifier !== undefined && modifier !== 'not') throw badRequest(`Modifier ':${modifier}' is not valid for _id`, [name]);
  const ids = splitValues(value).map((v) => v.replace(/\\(.)/g, '$1'));
  if (ids.some((id) => id === '')) throw badRequest('_id needs a value', [name]);
  // Like every other parameter's values (params/shared.ts cleanValue): refused, not sent to SQL.
  if (!ids.every(isStorableText)) throw badRequest(`${name}: the value contains invalid characters`, [name]);
  return { kind: 'id', ids, negate: modifier === 'not' };
}

function applyResultParam(registry: SearchRegistry, query: SearchQuery, name: string, value: string, options: ParseOptions): void {
  switch (name) {
    case '_count': {
      if (!/^\d{1,7}$/.test(value)) throw badRequest(`_count '${value}' is not a non-negative integer`, ['_count']);
      query.count = Math.min(Number(value), options.maxCount);
      return;
    }
    case '_total':
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate') throw badRequest(`_total must be none, estimate or accurate`, ['_total']);
      query.total = value as TotalMode;
      return;
    case '_summary':
      query.summary = parseSummaryParam(value, { allowCount: true });
      if (query.summary === 'count') query.total = 'accurate';
      return;
    case '_elements':
      query.elements = parseElementsParam(value);
      return;
    case '_sort':
      query.sort = parseSort(registry, query.resourceType, value);
      return;
    case '_page':
      query.page = value;
      return;
    case '_explain':
      if (value !== 'true' && value !== 'false') throw badRequest('_explain must be true or false', ['_explain']);
      query.explain = value === 'true';
      return;
    default: // _format and _pretty are handled by the HTTP layer
      return;
  }
}


function parseSort(registry: SearchRegistry, type: string, value: string): SortKey[] {
  return value.split(',').map((item) => {
    const direction = item.startsWith('-') ? 'desc' : 'asc';
    const code = item.replace(/^-/, '');
    if (code === '_id' || code === '_lastUpdated') return { param: code, direction };
    const def = registry.get(type, code);
    if (!def) throw badRequest(`Unknown search parameter '${code}' in _sort`, ['_sort']);
    // The types whose module says how to order by them (ParamTypeModule.sort; sort-sql.ts sortColumn, docs/search.md).
    if (!moduleFor(def.type)?.sort || !def.expression) {
      throw new FhirError(400, { code: 'not-supported', diagnostics: `Sorting by ${def.type} parameter '${code}' is not supported`, expression: ['_sort'] });
    }
    return { param: def, direction };
  });
}
