// The per-request access scope (SMART App Launch 2.x scopes-and-launch-context.html; FHIR R4
// compartmentdefinition-patient.html): from an AccessContext's scopes and launch context, per
// resource type and permission letter, which rows a statement may reach. Built once per
// request and tenant registry (cached), handed to the search engine and the store's reads
// (src/search/reach.ts), which put it inside every statement. docs/adr/0011-access-constraint.md
// gives the rules and their reasons:
// - administrators and system-context scopes: tenant-wide;
// - patient-context scopes need `access.patient` and are confined to the Patient compartment of
//   Patient/<patient> (the Patient itself by id, other types through their compartment
//   parameters); the shared types in SHARED_TYPES are readable tenant-wide; any other type
//   outside the compartment is out of reach;
// - user-context scopes: as far as the user reaches (user-reach.ts): a Patient user's
//   compartment, tenant-wide for a Practitioner(Role), nothing for anyone else;
// - a granular scope (`?category=...`) adds its search parameters for its type; several grants
//   for a type are OR'ed, so a plain grant wins over a constrained one.
import type { SearchRegistry } from '../../search/registry/registry.js';
import { parseSearchQuery, RESULT_PARAMS } from '../../search/parse-query.js';
import { ALL, NONE, type ConstraintFilter, type ReadScope, type TypeReach } from '../../search/reach.js';
import { parseScopes, type Permission, type ResourceScope } from '../../core/smart-scopes.js';
import type { AccessContext } from '../../core/types.js';
import { userReach } from './user-reach.js';

/**
 * Types that hold no patient's data but describe what patient data refers to (who treated,
 * where, which drug): readable ('r', 's') tenant-wide under patient-confined scopes, as most
 * SMART servers do, so that an app can show the practitioner or medication of an order.
 */
export const SHARED_TYPES: ReadonlySet<string> = new Set([
  'Practitioner', 'PractitionerRole', 'Organization', 'Location', 'HealthcareService', 'Endpoint',
  'Medication', 'Substance',
]);

const READ_LETTERS: ReadonlySet<Permission> = new Set(['r', 's']);

export interface AccessScope extends ReadScope {
  /** Whether some grant of the caller allows `letter` on `type` at all (the coarse and fine checks). */
  permits(type: string, letter: Permission): boolean;
  /** The patient id the caller's patient-confined grants are confined to, if any. */
  readonly patient?: string;
}

/** A grant as enforced: its scope and, when confined, the patient it is confined to. */
export interface EffectiveGrant {
  scope: ResourceScope;
  patient?: string;
}


const grantsCache = new WeakMap<AccessContext, readonly EffectiveGrant[]>();

/**
 * The grants of `access` that grant anything (patient-context ones need a launch patient; user
 * ones as far as user-reach.ts says), parsed once per context for every access decision: the
 * coarse check, the read scope and the write check.
 */
export function effectiveGrants(access: AccessContext): readonly EffectiveGrant[] {
  let grants = grantsCache.get(access);
  if (!grants) grantsCache.set(access, (grants = grantsOf(access)));
  return grants;
}

/** The grants of `access` that grant anything: patient-context ones need a launch patient. */
function grantsOf(access: AccessContext): EffectiveGrant[] {
  const user = userReach(access);
  const out: EffectiveGrant[] = [];
  for (const scope of parseScopes(access.scopes.join(' ')).resources) {
    if (scope.context === 'system') out.push({ scope });
    else if (scope.context === 'user') {
      if (user.kind === 'patient') out.push({ scope, patient: user.patient });
      else if (user.kind === 'tenant') out.push({ scope });
    }
    else if (access.patient !== undefined && access.patient !== '') out.push({ scope, patient: access.patient });
  }
  return out;
}

const ADMIN_SCOPE: AccessScope = Object.freeze({ unrestricted: true, reach: () => ALL, permits: () => true });

const cache = new WeakMap<AccessContext, WeakMap<SearchRegistry, AccessScope>>();

/** The access scope of `access` for a tenant whose searchable parameters are `registry`. */
export function accessScope(access: AccessContext, registry: SearchRegistry): AccessScope {
  if (access.isAdmin) return ADMIN_SCOPE;
  let byRegistry = cache.get(access);
  if (!byRegistry) cache.set(access, (byRegistry = new WeakMap()));
  let scope = byRegistry.get(registry);
  if (!scope) byRegistry.set(registry, (scope = buildScope(access, registry)));
  return scope;
}

/**
 * Tenant-wide reading of every type (system/*.rs and wider, with nothing confined or
 * constrained): statements stay exactly as they were, at no cost, and no search registry is
 * consulted (confinement and granular constraints are what need one).
 */
function unrestrictedGrants(grants: readonly EffectiveGrant[]): boolean {
  return (
    grants.every((g) => g.patient === undefined && g.scope.constraints === undefined) &&
    grants.some((g) => g.scope.resourceType === '*' && g.scope.permissions.has('r') && g.scope.permissions.has('s'))
  );
}

const unrestrictedCache = new WeakMap<AccessContext, boolean>();

/** Whether `access` reads the whole tenant (its scope then needs no search registry). */
export function readsWholeTenant(access: AccessContext): boolean {
  if (access.isAdmin) return true;
  let answer = unrestrictedCache.get(access);
  if (answer === undefined) unrestrictedCache.set(access, (answer = unrestrictedGrants(effectiveGrants(access))));
  return answer;
}

function buildScope(access: AccessContext, registry: SearchRegistry): AccessScope {
  const grants = effectiveGrants(access);
  const reaches = new Map<string, TypeReach>();
  const unrestricted = unrestrictedGrants(grants);
  const patients = [...new Set(grants.map((g) => g.patient).filter((p): p is string => p !== undefined))];
  return {
    unrestricted,
    patient: patients.length === 1 ? patients[0] : undefined,
    permits: (type, letter) => grants.some((g) => g.scope.permissions.has(letter) && (g.scope.resourceType === '*' || g.scope.resourceType === type)),
    reach(type, letters) {
      const key = `${type} ${[...letters].sort().join('')}`;
      let reach = reaches.get(key);
      if (!reach) reaches.set(key, (reach = reachOf(grants, registry, type, letters)));
      return reach;
    },
  };
}

/** The rows of `type` the grants reach through any of `letters`. */
function reachOf(grants: readonly EffectiveGrant[], registry: SearchRegistry, type: string, letters: readonly Permission[]): TypeReach {
  const alternatives: { confinement?: string; filters: ConstraintFilter[]; granular: boolean }[] = [];
  for (const grant of grants) {
    const { scope } = grant;
    const through = letters.filter((l) => scope.permissions.has(l));
    if (through.length === 0 || (scope.resourceType !== '*' && scope.resourceType !== type)) continue;
    const filters: ConstraintFilter[] = [];
    if (grant.patient !== undefined) {
      const confinement = confinementOf(registry, type, grant.patient, through);
      if (confinement === 'unreachable') continue;
      if (confinement) filters.push(confinement);
    }
    if (scope.constraints) {
      const granular = granularFilters(registry, type, scope.constraints);
      if (!granular) continue; // a constraint Hearth cannot enforce grants nothing (fail closed)
      filters.push(...granular);
    }
    if (filters.length === 0) return ALL;
    alternatives.push({ confinement: grant.patient, filters, granular: scope.constraints !== undefined });
  }
  if (alternatives.length === 0) return NONE;
  // A plain grant for a patient wins over the granular ones for the same patient.
  const plain = new Set(alternatives.filter((a) => !a.granular).map((a) => a.confinement));
  const kept = alternatives.filter((a) => !a.granular || !plain.has(a.confinement));
  return { kind: 'some', any: kept.map((a) => a.filters) };
}

/**
 * The filter confining `type` to the compartment of Patient/<patient>: the Patient by id, a
 * compartment type through its parameters, a shared type (reading) not at all (undefined),
 * any other type: out of reach.
 */
function confinementOf(registry: SearchRegistry, type: string, patient: string, letters: readonly Permission[]): ConstraintFilter | undefined | 'unreachable' {
  if (type === 'Patient') return { kind: 'id', ids: [patient], negate: false };
  const defs = registry
    .compartmentParams('Patient', type)
    .map((code) => registry.get(type, code))
    .filter((def): def is NonNullable<typeof def> => def !== undefined);
  if (defs.length > 0) return { kind: 'compartment', defs, reference: `Patient/${patient}` };
  if (SHARED_TYPES.has(type) && letters.some((l) => READ_LETTERS.has(l))) return undefined;
  return 'unreachable';
}

/** A granular scope's parameters as filters of `type`, or undefined when they are not plain search parameters. */
function granularFilters(registry: SearchRegistry, type: string, constraints: URLSearchParams): ConstraintFilter[] | undefined {
  if ([...constraints.keys()].some((name) => RESULT_PARAMS.has(name) || name.startsWith('_include') || name.startsWith('_revinclude'))) return undefined;
  try {
    const query = parseSearchQuery(registry, type, constraints, { lenient: false, defaultCount: 1, maxCount: 1 });
    const filters = query.filters;
    if (filters.length === 0 || !filters.every((f): f is ConstraintFilter => f.kind === 'index' || f.kind === 'id')) return undefined;
    return filters;
  } catch {
    return undefined; // not a parameter of this type, or a malformed value
  }
}
