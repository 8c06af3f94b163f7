// The coarse access decision (issue 10, "Scopes and enforcement"): before any data is touched,
// may this caller's scopes perform this interaction on this type at all? Decided here, once,
// for REST, batch entries, transaction entries and operations alike (authorize.ts calls it).
// SMART App Launch 2.x scopes-and-launch-context.html: c r u d s per type or `*`.
//
// Every context grants what it names here: system scopes tenant-wide; patient scopes (with a
// launch patient; without one they grant nothing) and user scopes within the data constraint
// that access-scope.ts builds and every statement carries (the patient's compartment, granular
// scope parameters); the write path checks new content (write-check.ts). This check only says
// whether the interaction is allowed on the type at all.
import { forbidden, type FhirError } from '../../core/errors.js';
import { grantsFor, permissionFor, type ResourceScope, type ScopeContext, type ScopedInteraction } from '../../core/smart-scopes.js';
import type { AccessContext } from '../../core/types.js';
import type { InteractionTarget } from '../hooks.js';
import { effectiveGrants } from './access-scope.js';

/** The caller's resource scopes that grant something (access-scope.ts effectiveGrants). */
const enforceableGrants = (access: AccessContext): ResourceScope[] => effectiveGrants(access).map((g) => g.scope);

/** The context a refusal names: the one the caller's scopes use (patient when it has a launch patient), else system. */
function contextOf(access: AccessContext): ScopeContext {
  const grants = enforceableGrants(access);
  return grants[0]?.context ?? (access.patient ? 'patient' : 'system');
}

/** A 403 OperationOutcome naming the scope `interaction` on `type` needs. */
export function missingScope(access: AccessContext, interaction: ScopedInteraction, type: string, why?: string): FhirError {
  const letter = permissionFor(interaction);
  const what = type === '*' ? 'every type' : type;
  return forbidden(`${why ?? `${interaction} on ${what}`} needs the scope ${contextOf(access)}/${type}.${letter} (or one granting more)`);
}

function requireGrant(access: AccessContext, interaction: ScopedInteraction, type: string): void {
  if (grantsFor(enforceableGrants(access), interaction, type).length > 0) return;
  throw missingScope(access, interaction, type);
}

/**
 * The auditors' export ($export-ndjson, issue 11 "Auditor access") reads the trail's rows as
 * stored, outside the search engine's reach constraints: only a grant that reaches every row
 * of the type (not confined to a patient, no granular parameters) allows it.
 */
function requireTenantWideSearch(access: AccessContext, type: string): void {
  const wide = effectiveGrants(access).filter((g) => g.patient === undefined && g.scope.constraints === undefined).map((g) => g.scope);
  if (grantsFor(wide, 'search-type', type).length > 0) return;
  throw missingScope(access, 'search-type', type, `Exporting every ${type} (tenant-wide, no granular constraint)`);
}

/**
 * Terminology operations (issue 12) read definitions: the caller needs read on the type they are
 * invoked on (CodeSystem, ValueSet, ConceptMap), in any context.
 */
const TERMINOLOGY_OPERATIONS = new Set(['lookup', 'subsumes', 'validate-code', 'expand', 'translate']);

/**
 * $validate reads nothing at type level (the resource comes with the request): a caller that
 * may create or update the type may ask whether a resource would pass. At instance level it
 * reads the stored resource: read.
 */
function requireValidateGrant(access: AccessContext, target: InteractionTarget): void {
  const type = target.resourceType ?? '*';
  if (target.id !== undefined) return requireGrant(access, 'read', type);
  const grants = enforceableGrants(access);
  if (grantsFor(grants, 'create', type).length > 0 || grantsFor(grants, 'update', type).length > 0) return;
  throw missingScope(access, 'create', type, `$validate on ${type}`);
}

/** Throws a 403 OperationOutcome naming the scope needed when `access` may not perform `target`. */
export function checkScopes(access: AccessContext, target: InteractionTarget): void {
  if (access.isAdmin) return;
  switch (target.interaction) {
    case 'capabilities':
      return; // the CapabilityStatement is public (http.html#capabilities)
    case 'batch':
    case 'transaction':
      return; // every entry is checked on its own, before any entry runs
    case 'operation':
      // Operations will carry their own permission in the registry; $reindex is for administrators.
      // A patient's access report is an AuditEvent search (operations/access-report.ts).
      if (target.operation === 'access-report') return requireGrant(access, 'search-type', 'AuditEvent');
      if (target.operation === 'export-ndjson' && target.resourceType === 'AuditEvent') return requireTenantWideSearch(access, 'AuditEvent');
      if (target.operation !== undefined && TERMINOLOGY_OPERATIONS.has(target.operation) && target.resourceType) return requireGrant(access, 'read', target.resourceType);
      if (target.operation === 'validate' && target.resourceType) return requireValidateGrant(access, target);
      throw forbidden(`$${target.operation ?? 'operation'} is reserved for administrators`);
    case 'search-system':
      for (const type of target.resourceTypes ?? ['*']) requireGrant(access, 'search-system', type);
      return;
    case 'history-system':
      requireGrant(access, 'history-system', '*');
      return;
    default:
      requireGrant(access, target.interaction, target.resourceType ?? '*');
  }
}
