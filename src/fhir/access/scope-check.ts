// The coarse access decision (issue 10, "Scopes and enforcement"): before any data is touched,
// may this caller's scopes perform this interaction on this type at all? Decided here, once,
// for REST, batch entries, transaction entries and operations alike (authorize.ts calls it).
// SMART App Launch 2.x scopes-and-launch-context.html: c r u d s per type or `*`.
//
// Fail closed until the rest of the issue lands: patient- and user-context scopes need a data
// constraint inside every statement (the patient's compartment, the user's reach), which does
// not exist yet, so they grant nothing here rather than everything. Only system-context scopes
// (SMART Backend Services) and administrators pass today.
import { forbidden } from '../../core/errors.js';
import { grantsFor, parseScopes, permissionFor, type ResourceScope, type ScopedInteraction } from '../../core/smart-scopes.js';
import type { AccessContext } from '../../core/types.js';
import type { InteractionTarget } from '../hooks.js';

const parsed = new WeakMap<AccessContext, ResourceScope[]>();

/** The caller's resource scopes that can be enforced today (system context), parsed once per context. */
function enforceableGrants(access: AccessContext): ResourceScope[] {
  let grants = parsed.get(access);
  if (!grants) {
    grants = parseScopes(access.scopes.join(' ')).resources.filter((s) => s.context === 'system' && s.constraints === undefined);
    parsed.set(access, grants);
  }
  return grants;
}

function requireGrant(access: AccessContext, interaction: ScopedInteraction, type: string): void {
  if (grantsFor(enforceableGrants(access), interaction, type).length > 0) return;
  const letter = permissionFor(interaction);
  const what = type === '*' ? 'every type' : type;
  throw forbidden(`${interaction} on ${what} needs the scope system/${type}.${letter} (or one granting more)`);
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
