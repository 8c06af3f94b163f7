// Append-only resource types (issue 11; FHIR R4 auditevent.html "AuditEvent ... should not be
// updated or deleted"): the audit trail is written by the server alone, so no caller, however
// privileged, may create, update, patch or delete an AuditEvent through the API — over REST
// and as a batch or transaction entry alike, since every entry is routed by router.ts. Reads,
// searches and history stay allowed. The refusal is 405 with the Allow header RFC 9110
// section 15.5.6 requires; the CapabilityStatement (interactions/capabilities.ts) claims only
// what is left, so it never promises a write the router refuses.
import { FhirError } from '../core/errors.js';
import type { HttpMethod } from '../core/types.js';
import type { CapabilityResourceInput } from './capabilities.js';

/** Types whose instances only the server writes. */
export const APPEND_ONLY_TYPES: ReadonlySet<string> = new Set(['AuditEvent']);

/** What an append-only type's type and instance URLs still answer (HEAD goes with GET). */
export const APPEND_ONLY_ALLOW = 'GET';

/** The interactions that change a resource (restful-interaction codes). */
const WRITE_INTERACTIONS: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete']);

export function isAppendOnly(type: string): boolean {
  return APPEND_ONLY_TYPES.has(type);
}

/**
 * Refuses any method but GET/HEAD on [base]/{type}, [base]/{type}?criteria and
 * [base]/{type}/{id} of an append-only type: create, conditional create, (conditional) update,
 * patch and (conditional) delete. Call it before the interaction is chosen.
 */
export function refuseAppendOnlyWrite(method: HttpMethod, type: string, path: string): void {
  if (!isAppendOnly(type) || method === 'GET' || method === 'HEAD') return;
  const error = new FhirError(405, {
    code: 'not-supported',
    diagnostics: `${type} is append-only: the server records it, and ${method} is not allowed on ${path}; allowed: ${APPEND_ONLY_ALLOW}`,
  });
  error.headers.Allow = APPEND_ONLY_ALLOW;
  throw error;
}

/** A type's CapabilityStatement entry without the writes an append-only type refuses. */
export function withoutRefusedWrites(resource: CapabilityResourceInput): CapabilityResourceInput {
  if (!isAppendOnly(resource.type)) return resource;
  return {
    ...resource,
    interactions: resource.interactions.filter((code) => !WRITE_INTERACTIONS.has(code)),
    conditionalCreate: false,
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    updateCreate: false,
  };
}
