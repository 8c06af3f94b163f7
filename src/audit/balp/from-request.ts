// The parts of an AuditInput the FHIR layer already knows (issue 11; FHIR R4 http.html,
// IHE BALP): the event of a routed interaction (hooks.ts InteractionTarget), the request as
// the client sent it, and this server's observer id. The HTTP layer adds what only it knows:
// the network address and the raw query string.
import type { FhirRequest } from '../../core/types.js';
import type { InteractionTarget } from '../../fhir/hooks.js';
import type { AuditInput, RestEvent } from './input.js';

/**
 * The AuditEvent event of a routed interaction; undefined for `capabilities` (issue 11: the
 * CapabilityStatement is not audited). `definition` is the operation's canonical URL.
 */
export function restEventOf(target: InteractionTarget, extra: { bundleEntry?: RestEvent['bundleEntry']; definition?: string } = {}): RestEvent | undefined {
  if (target.interaction === 'capabilities') return undefined;
  const event: RestEvent = { kind: 'rest', interaction: target.interaction };
  if (target.interaction === 'operation') event.operation = { name: target.operation ?? 'unknown', ...(extra.definition ? { definition: extra.definition } : {}) };
  if (extra.bundleEntry) event.bundleEntry = extra.bundleEntry;
  return event;
}

/**
 * The request for AuditInput.request. `rawQuery` must be the query string exactly as it
 * arrived (without '?'; for POST _search the form body as sent): FhirRequest.query is parsed,
 * and re-serializing it changes the encoding. Without it, the parsed query is re-encoded and
 * the event records an equivalent, not identical, query.
 */
export function requestOf(req: FhirRequest, rawQuery?: string): NonNullable<AuditInput['request']> {
  return { id: req.requestId, method: req.method, path: req.path.join('/'), query: rawQuery ?? req.rawQuery ?? req.query.toString() };
}

/**
 * This server's observer id (AuditEvent.source.observer, the server agent): an explicit
 * setting first, else the public base URL, else the origin the server listens on. One id
 * for every tenant: the tenant is told by the tenant base (source.site).
 */
export function observerId(options: { setting?: string; publicBaseUrl?: string; origin: string }): string {
  const id = options.setting?.trim() || options.publicBaseUrl?.replace(/\/+$/, '') || options.origin;
  if (!id) throw new Error('The audit observer id is empty');
  return id;
}
