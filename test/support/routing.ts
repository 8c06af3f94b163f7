// Routing tests' shared pieces: dependencies that fail the test if routing touches them
// (routing only builds interactions), and requests as the open mode's administrator.
import { ANONYMOUS_ACCESS, type FhirRequest, type HttpMethod } from '../../src/core/types.js';
import type { InteractionDeps } from '../../src/fhir/interactions/context.js';

export const untouchedDeps = new Proxy({} as InteractionDeps, {
  get(_target, prop) {
    throw new Error(`routing touched deps.${String(prop)}`);
  },
});

export const routingOptions = { softwareVersion: '9.9.9' };

export function routedRequest(method: HttpMethod, path: string, query = '', extra: Partial<FhirRequest> = {}): FhirRequest {
  return {
    method, tenantId: 'default', baseUrl: 'http://h/fhir', path: path.split('/').filter(Boolean), query: new URLSearchParams(query),
    prefer: {}, access: ANONYMOUS_ACCESS, requestId: 'r', ...extra,
  };
}
