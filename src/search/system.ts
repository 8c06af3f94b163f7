// System-level search (FHIR R4 http.html#search, search.html#all): `GET [base]?_type=A,B&...`,
// `POST [base]/_search`. Parsed into one type-level SearchQuery per searched type (same
// filters, same result parameters, each parsed against its own type) that sql.ts runs as one
// UNION ALL. What is allowed, and why, is in docs/search.md ("System search").
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { badRequest, FhirError } from '../core/errors.js';
import { isResourceType } from '../core/resource-types.js';
import { INCLUDE, parseSearchQuery, RESULT_PARAMS, type ParseOptions } from './parse-query.js';
import type { SearchQuery } from './query.js';
import type { SearchRegistry } from './registry/registry.js';

/**
 * Stands for "every resource" when _type is absent: Parameters is not a DomainResource and
 * has no search parameters of its own in R4, so its parameters are exactly those based on
 * Resource (_id, _lastUpdated, _tag, _profile, _security, _source).
 */
export const RESOURCE_LEVEL_TYPE = 'Parameters';

export interface SystemSearchQuery {
  /** The types searched, sorted: those named by _type, or the tenant's types that have rows. */
  types: string[];
  /** Whether _type named them. */
  explicitTypes: boolean;
  /** One type-level query per type, in `types` order. */
  branches: SearchQuery[];
  /** The result parameters, warnings and ignored names of the whole search (they shape the Bundle). */
  result: SearchQuery;
}

/** `_type=Patient,Observation` (search.html#all): distinct and sorted; undefined when absent. */
export function parseTypeParam(params: URLSearchParams): string[] | undefined {
  const values = params.getAll('_type');
  if (values.length === 0) return undefined;
  if (values.length > 1) throw badRequest('_type must be given once, as a comma-separated list of resource types', ['_type']);
  const types = values[0].split(',');
  const unknown = types.filter((t) => !isResourceType(t));
  if (unknown.length > 0) throw badRequest(`_type: unknown resource type ${unknown.map((t) => `'${t}'`).join(', ')}`, ['_type']);
  return [...new Set(types)].sort();
}

/** code -> parameter type, for the codes every one of `types` defines with the same type. */
function commonParams(registry: SearchRegistry, types: readonly string[]): Map<string, string> {
  const [first, ...rest] = types.map((t) => registry.forType(t));
  const common = new Map([...first.values()].map((def) => [def.code, def.type as string]));
  for (const defs of rest) for (const [code, type] of common) if (defs.get(code)?.type !== type) common.delete(code);
  return common;
}

/**
 * Parses a system search over `types` (sorted; may be empty when no type has rows). A filter
 * or _sort key must be a parameter every searched type defines with the same type (without
 * _type: every resource); each branch then parses it against its own type. Lenient handling
 * ignores a parameter for every branch if any branch could not use it, so all search alike.
 */
export function parseSystemQuery(
  registry: SearchRegistry,
  types: string[],
  explicitTypes: boolean,
  params: URLSearchParams,
  options: ParseOptions,
): SystemSearchQuery {
  const scope = explicitTypes ? types : [RESOURCE_LEVEL_TYPE, ...types];
  const common = commonParams(registry, scope);
  const scopeText = explicitTypes ? `every type in _type (${types.join(', ')})` : 'every resource type (give _type to use others)';
  const warnings: OperationOutcomeIssue[] = [];
  const ignored = new Set<string>();
  const refuse = (error: FhirError, name: string) => {
    if (!options.lenient) throw error;
    warnings.push(...error.outcome.issue.map((i) => ({ ...i, severity: 'warning' as const })));
    ignored.add(name);
  };
  for (const [name, value] of params) {
    if (name === '_type') continue;
    if (INCLUDE.test(name)) {
      refuse(new FhirError(400, { code: 'not-supported', diagnostics: `${name} is not supported in a system search; search the type instead`, expression: [name] }), name);
    } else if (name === '_sort') {
      const codes = value.split(',').map((item) => item.replace(/^-/, ''));
      const bad = codes.find((code) => code !== '_id' && code !== '_lastUpdated' && !common.has(code));
      if (bad !== undefined) refuse(badRequest(`_sort: '${bad}' is not a search parameter of ${scopeText} with one type`, ['_sort']), name);
    } else if (!RESULT_PARAMS.has(name)) {
      // The parameter's own code decides: `subject:Patient.name` is allowed when `subject` is
      // common; `_has` and `_list` (every type, no SearchParameter in R4) are checked per type.
      const code = name.split(/[:.]/)[0];
      if (code !== '_has' && code !== '_list' && !common.has(code)) refuse(badRequest(`'${code}' is not a search parameter of ${scopeText} with one type`, [name]), name);
    }
  }
  const parseAll = (names: ReadonlySet<string>) => {
    const kept = new URLSearchParams([...params].filter(([name]) => name !== '_type' && !names.has(name)));
    const parse = (type: string) => parseSearchQuery(registry, type, kept, options);
    const branches = types.map(parse);
    // With no type to search, the parameters are still checked, as for any resource.
    return { branches, result: branches[0] ?? parse(RESOURCE_LEVEL_TYPE) };
  };
  let parsed = parseAll(ignored);
  const all = [...parsed.branches, parsed.result];
  const more = all.flatMap((q) => q.ignored);
  if (more.length > 0) {
    const seen = new Set(warnings.map((w) => JSON.stringify(w)));
    for (const w of all.flatMap((q) => q.warnings)) {
      if (!seen.has(JSON.stringify(w))) warnings.push(w);
      seen.add(JSON.stringify(w));
    }
    for (const name of more) ignored.add(name);
    parsed = parseAll(ignored);
  }
  return { types, explicitTypes, branches: parsed.branches, result: { ...parsed.result, warnings, ignored: [...ignored] } };
}
