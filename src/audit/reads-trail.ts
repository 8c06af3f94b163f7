// Which interactions may read the audit trail (issue 11 "Auditor access"; ADR 0016): before
// them, the tenant's journal is expanded, so that an auditor sees every interaction that ended
// before the request began. Reading AuditEvent by any route counts: its own type (read, vread,
// search, history, $export-ndjson, $verify, a compartment search), a Patient's $access-report,
// system-wide search and history, and any search naming AuditEvent in its parameters
// (_revinclude=AuditEvent:patient, _has:AuditEvent:…, a chain into it).
import type { FhirRequest } from '../core/types.js';
import type { InteractionTarget } from '../fhir/hooks.js';

const TRAIL_OPERATIONS: ReadonlySet<string> = new Set(['access-report']);

export function readsTrail(request: Pick<FhirRequest, 'query'>, target: InteractionTarget): boolean {
  if (target.resourceType === 'AuditEvent') return true;
  switch (target.interaction) {
    case 'search-system':
      return !target.resourceTypes || target.resourceTypes.includes('AuditEvent');
    case 'history-system':
      return true;
    case 'operation':
      if (target.operation && TRAIL_OPERATIONS.has(target.operation)) return true;
      break;
    default:
  }
  // Every request passes here: look through the parameters (the URL's and a POST _search body's)
  // without re-encoding them.
  for (const [name, value] of request.query) if (name.includes('AuditEvent') || value.includes('AuditEvent')) return true;
  return false;
}

/**
 * Whether to expand the tenant's journal before this interaction: when it reads the trail, except
 * as an entry of a transaction bundle, which already holds a database connection and its locks —
 * waiting there for another connection could exhaust the pool. Such an entry sees the trail as
 * expanded so far (within the lag bound).
 */
export function expandsJournalFirst(request: Pick<FhirRequest, 'query' | 'bundleEntry'>, target: InteractionTarget): boolean {
  return request.bundleEntry?.bundleType !== 'transaction' && readsTrail(request, target);
}
