// The interaction a request that could not be routed was trying to be (issue 11: "routing and
// parsing failures are audited"), read from its method and path shape only (FHIR R4 http.html,
// the "Service Base URL" table), so that its AuditEvent has a subtype and names only what the
// client itself sent.
import type { FhirRequest } from '../core/types.js';
import type { InteractionTarget } from './hooks.js';

export function unroutedTarget(req: Pick<FhirRequest, 'method' | 'path'>): InteractionTarget {
  const path = req.path;
  const operation = path.find((segment) => segment.startsWith('$'));
  const [type, second, third] = path;
  if (operation) {
    // The name as sent when it is a well-formed operation code; anything else is recorded as unknown.
    const name = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(operation.slice(1)) ? operation.slice(1) : 'unknown';
    return { interaction: 'operation', operation: name, ...(type && type !== operation ? { resourceType: type } : {}) };
  }
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (type === undefined) return { interaction: read ? 'search-system' : 'batch' };
  if (type === '_history') return { interaction: 'history-system' };
  if (type === '_search') return { interaction: 'search-system' };
  if (second === undefined) return { interaction: read ? 'search-type' : req.method === 'POST' ? 'create' : req.method === 'DELETE' ? 'delete' : 'update', resourceType: type };
  if (second === '_search') return { interaction: 'search-type', resourceType: type };
  if (second === '_history') return { interaction: 'history-type', resourceType: type };
  if (third === '_history') return { interaction: path.length > 3 ? 'vread' : 'history-instance', resourceType: type, id: second };
  const byMethod = { GET: 'read', HEAD: 'read', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const;
  return { interaction: byMethod[req.method], resourceType: type, id: second };
}
