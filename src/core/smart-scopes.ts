// SMART App Launch 2.x scopes (scopes-and-launch-context.html): the grammar of what a token
// allows, parsed once into grants that the authorization server (which scopes to issue) and the
// access decision in fhir/ (what a request may do) share. Pure: no I/O, no knowledge of tokens.
//
//   <patient|user|system>/<ResourceType|*>.<permissions>[?<search parameters>]
//   v2 permissions: a non-empty subset of c r u d s, in that order ("rs", "cud", "cruds");
//   v1 permissions: read (= rs), write (= cud), * (= cruds). Granular constraints (`?category=...`)
//   exist in v2 only. Scopes are case-sensitive.
import { isResourceType } from './resource-types.js';

export type ScopeContext = 'patient' | 'user' | 'system';

/** c: type-level create; r: read, vread, instance history; u: update, patch; d: delete; s: search, type/system history. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

const PERMISSION_ORDER: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];
const V1_PERMISSIONS: Readonly<Record<string, readonly Permission[]>> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': PERMISSION_ORDER };

export interface ResourceScope {
  /** The scope as requested. */
  scope: string;
  context: ScopeContext;
  /** An R4 resource type, or '*' for every type. */
  resourceType: string;
  permissions: ReadonlySet<Permission>;
  /** v2 granular scopes: search parameters every resource reached under this scope must match. */
  constraints?: URLSearchParams;
  version: 1 | 2;
}

export interface ParsedScopes {
  resources: ResourceScope[];
  openid: boolean;
  fhirUser: boolean;
  /** offline_access: a refresh token that outlives the session. */
  offlineAccess: boolean;
  onlineAccess: boolean;
  /** `launch` (EHR launch), `launch/patient`, `launch/encounter` (standalone context requests). */
  launch: { ehr: boolean; patient: boolean; encounter: boolean };
  /** Well-formed scopes that are none of the above (e.g. another API's); ignored for FHIR access. */
  other: string[];
  /** Resource scopes that break the grammar; a token endpoint refuses or drops them. */
  invalid: string[];
}

const RESOURCE_SCOPE = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)(?:\?(.*))?$/s;

/** The permissions of `text` (v2 letters in order, or a v1 word), or undefined when malformed. */
function permissionsOf(text: string): { permissions: Permission[]; version: 1 | 2 } | undefined {
  const v1 = V1_PERMISSIONS[text];
  if (v1) return { permissions: [...v1], version: 1 };
  let at = -1;
  const permissions: Permission[] = [];
  for (const letter of text) {
    const index = PERMISSION_ORDER.indexOf(letter as Permission);
    if (index <= at) return undefined; // unknown letter, repeated, or out of c-r-u-d-s order
    at = index;
    permissions.push(letter as Permission);
  }
  return permissions.length > 0 ? { permissions, version: 2 } : undefined;
}

/** One resource scope, or undefined when `scope` is not one (or breaks the grammar). */
export function parseResourceScope(scope: string): ResourceScope | undefined {
  const match = RESOURCE_SCOPE.exec(scope);
  if (!match) return undefined;
  const [, context, resourceType, permissionText, query] = match;
  if (resourceType !== '*' && !isResourceType(resourceType)) return undefined;
  const parsed = permissionsOf(permissionText);
  if (!parsed) return undefined;
  const out: ResourceScope = { scope, context: context as ScopeContext, resourceType, permissions: new Set(parsed.permissions), version: parsed.version };
  if (query !== undefined) {
    // Granular scopes are a v2 feature, and a constraint needs a name and a value.
    if (parsed.version === 1 || query === '') return undefined;
    const constraints = new URLSearchParams(query);
    if ([...constraints].some(([name, value]) => name === '' || value === '')) return undefined;
    out.constraints = constraints;
  }
  return out;
}

/** Splits a space-separated scope string (RFC 6749 §3.3) and sorts what each scope grants. */
export function parseScopes(text: string): ParsedScopes {
  const out: ParsedScopes = {
    resources: [], openid: false, fhirUser: false, offlineAccess: false, onlineAccess: false,
    launch: { ehr: false, patient: false, encounter: false }, other: [], invalid: [],
  };
  for (const scope of new Set(text.split(' ').filter((s) => s !== ''))) {
    switch (scope) {
      case 'openid': out.openid = true; continue;
      case 'fhirUser': out.fhirUser = true; continue;
      case 'offline_access': out.offlineAccess = true; continue;
      case 'online_access': out.onlineAccess = true; continue;
      case 'launch': out.launch.ehr = true; continue;
      case 'launch/patient': out.launch.patient = true; continue;
      case 'launch/encounter': out.launch.encounter = true; continue;
    }
    const resource = parseResourceScope(scope);
    if (resource) out.resources.push(resource);
    else if (/^(patient|user|system)\//.test(scope)) out.invalid.push(scope);
    else out.other.push(scope);
  }
  return out;
}

/** FHIR R4 interactions (http.html) that resource scopes govern. */
export type ScopedInteraction =
  | 'create' | 'read' | 'vread' | 'history-instance' | 'update' | 'patch' | 'delete'
  | 'search-type' | 'search-system' | 'history-type' | 'history-system';

const PERMISSION_OF: Readonly<Record<ScopedInteraction, Permission>> = {
  create: 'c',
  read: 'r', vread: 'r', 'history-instance': 'r',
  update: 'u', patch: 'u',
  delete: 'd',
  'search-type': 's', 'search-system': 's', 'history-type': 's', 'history-system': 's',
};

export const permissionFor = (interaction: ScopedInteraction): Permission => PERMISSION_OF[interaction];

/**
 * The grants among `scopes` that allow `interaction` on `resourceType` (optionally only those of
 * one context). Empty: not allowed. Several: the request may use any of them, so a granular one
 * constrains only when no unconstrained grant applies — the access decision combines them.
 */
export function grantsFor(scopes: readonly ResourceScope[], interaction: ScopedInteraction, resourceType: string, context?: ScopeContext): ResourceScope[] {
  const permission = permissionFor(interaction);
  return scopes.filter(
    (s) => s.permissions.has(permission) && (s.resourceType === '*' || s.resourceType === resourceType) && (context === undefined || s.context === context),
  );
}
