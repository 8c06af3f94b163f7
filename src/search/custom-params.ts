// Custom SearchParameter resources (FHIR R4 searchparameter.html, search.html#custom): which
// stored SearchParameters a tenant's registry uses, and the checks a SearchParameter must
// pass before it is stored, so a bad one is a 400 naming the element rather than a registry
// that fails to build later.
import type { SearchParameter } from 'fhir/r4.js';
import { badRequest, FhirError } from '../core/errors.js';
import { isResourceType, RESOURCE_TYPES } from '../core/resource-types.js';
import { compileExtractor, compileFhirpath } from './registry/compile.js';
import { splitForType } from './registry/expression.js';
import { r4SearchParameter } from './registry/registry.js';

/** Parameter types a custom parameter may have: those whose modules index from an expression alone. */
const CUSTOM_TYPES: ReadonlySet<string> = new Set(['number', 'date', 'string', 'token', 'reference', 'quantity', 'uri']);
/** A search parameter name: letters, digits, '-' and '_', not starting with '_' (reserved by the spec). */
const CODE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Only `active` parameters are indexed and searchable; draft and retired ones are stored only. */
export const isActive = (sp: SearchParameter): boolean => sp.status === 'active';

/** The resource types a parameter applies to (Resource and DomainResource expanded). */
export function baseTypes(sp: SearchParameter): string[] {
  const bases = sp.base ?? [];
  if (bases.includes('Resource')) return [...RESOURCE_TYPES];
  if (bases.includes('DomainResource')) return RESOURCE_TYPES.filter((t) => !['Binary', 'Bundle', 'Parameters'].includes(t));
  return bases.filter((b) => isResourceType(b));
}

/**
 * Throws a 400 when an active SearchParameter could not be served: unsupported type, bad
 * code, unknown base, an expression that does not parse or has no branch for a base, or a
 * code that already names an R4 parameter of one of its bases.
 */
export function assertUsableSearchParameter(sp: SearchParameter): void {
  if (!isActive(sp)) return;
  if (!sp.type || !CUSTOM_TYPES.has(sp.type)) {
    throw new FhirError(400, {
      code: 'not-supported',
      diagnostics: `SearchParameter.type '${sp.type}' is not supported for custom parameters (use one of ${[...CUSTOM_TYPES].join(', ')})`,
      expression: ['SearchParameter.type'],
    });
  }
  if (!sp.code || !CODE.test(sp.code)) {
    throw badRequest(`SearchParameter.code '${sp.code ?? ''}' must be letters, digits, '-' or '_' and not start with '_'`, ['SearchParameter.code']);
  }
  const unknown = (sp.base ?? []).filter((b) => b !== 'Resource' && b !== 'DomainResource' && !isResourceType(b));
  if (!sp.base?.length || unknown.length > 0) {
    throw badRequest(`SearchParameter.base must list resource types${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`, ['SearchParameter.base']);
  }
  if (!sp.expression) throw badRequest('SearchParameter.expression is required for a custom search parameter', ['SearchParameter.expression']);
  try {
    compileFhirpath(sp.expression);
  } catch (error) {
    throw badRequest(`SearchParameter.expression is not valid FHIRPath: ${(error as Error).message}`, ['SearchParameter.expression']);
  }
  for (const type of baseTypes(sp)) {
    const builtIn = r4SearchParameter(type, sp.code);
    if (builtIn && builtIn.url !== sp.url) {
      throw badRequest(`SearchParameter.code '${sp.code}' is already the R4 parameter ${builtIn.url} of ${type}`, ['SearchParameter.code']);
    }
    if (splitForType(sp.expression, type) === undefined) {
      throw badRequest(`SearchParameter.expression has no branch that applies to ${type} (expressions start with the type, e.g. ${type}.extension)`, ['SearchParameter.expression']);
    }
    try {
      compileExtractor(sp.expression, type);
    } catch (error) {
      throw badRequest(`SearchParameter.expression cannot be compiled for ${type}: ${(error as Error).message}`, ['SearchParameter.expression']);
    }
  }
}

/**
 * A SearchParameter about to be stored as `id`: usable, and not sharing its code on any base
 * type with another active custom parameter of the tenant (which one would win is undefined).
 */
export function assertCustomParamFits(sp: SearchParameter, id: string, others: readonly { id: string; resource: SearchParameter }[]): void {
  assertUsableSearchParameter(sp);
  if (!isActive(sp)) return;
  const types = new Set(baseTypes(sp));
  const clash = others.find((o) => o.id !== id && o.resource.code === sp.code && baseTypes(o.resource).some((t) => types.has(t)));
  if (clash) {
    throw badRequest(`SearchParameter.code '${sp.code}' is already used by SearchParameter/${clash.id} on a shared base type`, ['SearchParameter.code']);
  }
}
