// FhirRequests straight into a FhirService, as a given caller (AccessContext), for the tests of
// the access rules: no HTTP, no tokens; an error answers as its status and OperationOutcome.
import { FhirError } from '../../src/core/errors.js';
import type { AccessContext, FhirRequest, HttpMethod, JsonObject } from '../../src/core/types.js';
import type { FhirService } from '../../src/fhir/service.js';
import { bodyValue } from '../../src/core/response-body.js';

export interface Reply {
  status: number;
  body?: JsonObject;
}

export type SendAs = (access: AccessContext, method: HttpMethod, path: string, extra?: Partial<FhirRequest>) => Promise<Reply>;

/** A sender of requests to `tenant()` (read at each call) on `service`. */
export function requestsTo(service: FhirService, tenant: () => string): SendAs {
  return async (access, method, path, extra = {}) => {
    const [pathPart, queryPart = ''] = path.split('?');
    const req: FhirRequest = {
      method, tenantId: tenant(), baseUrl: 'http://h/fhir', path: pathPart.split('/').filter(Boolean),
      query: new URLSearchParams(queryPart), prefer: {}, access, requestId: 'r', ...extra,
    };
    try {
      const res = await service.handle(req);
      const body = res.body === undefined ? undefined : (bodyValue(res.body) as JsonObject);
      return { status: res.status, body };
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      return { status: error.status, body: error.outcome as unknown as JsonObject };
    }
  };
}
