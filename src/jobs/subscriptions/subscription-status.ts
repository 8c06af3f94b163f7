// Moves a Subscription's status as delivery learns about its endpoint (R4 subscription.html
// "Subscription status"): `requested` -> `active` after a successful handshake, -> `error` (with
// `error` saying why) after its deliveries dead-letter. The update goes through the FHIR service
// like any client's, so it is versioned, audited (as the delivery worker) and guarded by
// If-Match: a concurrent client edit wins, and is read again before retrying.
import { randomUUID } from 'node:crypto';
import { FhirError } from '../../core/errors.js';
import type { AccessContext, FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import type { FhirService } from '../../fhir/service.js';
import type { SubscriptionStatusWriter } from '../delivery/delivery-worker.js';

const DELIVERY_WORKER: AccessContext = Object.freeze({ subject: 'hearth-delivery-worker', scopes: Object.freeze(['system/Subscription.rs', 'system/Subscription.u']), isAdmin: true });

const ATTEMPTS = 3;

function bodyOf(response: FhirResponse): JsonObject | undefined {
  const body = response.body;
  if (!body) return undefined;
  if (body.kind === 'json') return body.value as JsonObject;
  if (body.kind === 'raw') return JSON.parse(body.text) as JsonObject;
  return undefined;
}

export function subscriptionStatusWriter(service: FhirService, baseUrlOf: (tenantId: string) => string): SubscriptionStatusWriter {
  return async (tenantId, id, status, error) => {
    const request = (method: 'GET' | 'PUT', extra: Partial<FhirRequest> = {}): FhirRequest => ({
      method,
      tenantId,
      baseUrl: baseUrlOf(tenantId),
      path: ['Subscription', id],
      query: new URLSearchParams(),
      prefer: { return: 'minimal' },
      access: DELIVERY_WORKER,
      requestId: `delivery-${randomUUID()}`,
      ...extra,
    });
    for (let attempt = 1; ; attempt++) {
      let current: JsonObject | undefined;
      let versionId: string | undefined;
      try {
        const read = await service.handle(request('GET'));
        current = bodyOf(read);
        versionId = ((current?.meta ?? {}) as { versionId?: string }).versionId;
      } catch (failure) {
        if (failure instanceof FhirError && (failure.status === 404 || failure.status === 410)) return; // deleted meanwhile
        throw failure;
      }
      if (!current) return;
      // Only the transitions delivery owns: a client that turned it off (or changed it) meanwhile wins.
      const from = current.status;
      if (status === 'active' && from !== 'requested') return;
      if (status === 'error' && from !== 'active' && from !== 'requested') return;
      const next: JsonObject = { ...current, status };
      if (error) next.error = error;
      else delete next.error;
      try {
        await service.handle(request('PUT', { body: next, bodyKind: 'resource', ...(versionId ? { ifMatch: `W/"${versionId}"` } : {}) }));
        return;
      } catch (failure) {
        if (!(failure instanceof FhirError) || (failure.status !== 412 && failure.status !== 409) || attempt >= ATTEMPTS) throw failure;
      }
    }
  };
}
