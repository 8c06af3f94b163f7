// What Hearth reads from an R4 Subscription (hl7.org/fhir/R4/subscription.html): its status,
// criteria and rest-hook channel (endpoint, header, payload). Only `rest-hook` channels are
// delivered; the others are refused on write (subscription-writes.ts), since nothing would send them.
import type { JsonObject } from '../../core/types.js';
import type { SubscriptionPayload } from '../delivery/contracts.js';

/**
 * R4 has `channel.payload` (a MIME type: present = the resource is sent, absent = an empty
 * notification). The R4 Subscriptions Backport IG's extension on `channel.payload` says which
 * content: empty, id-only or full-resource.
 */
export const PAYLOAD_CONTENT_EXTENSION = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';

export interface SubscriptionChannel {
  id: string;
  status: string;
  criteria: string;
  channelType: string;
  endpoint: string;
  headers: string[];
  payload: SubscriptionPayload;
  contentType: string;
}

const asString = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The channel as Hearth delivers it (no validation: see subscription-writes.ts). */
export function readSubscription(id: string, resource: JsonObject): SubscriptionChannel {
  const channel = (resource.channel ?? {}) as JsonObject;
  const payloadType = asString(channel.payload);
  const payloadElement = (channel._payload ?? {}) as JsonObject;
  const extensions = Array.isArray(payloadElement.extension) ? (payloadElement.extension as JsonObject[]) : [];
  const declared = asString(extensions.find((e) => e.url === PAYLOAD_CONTENT_EXTENSION)?.valueCode);
  let payload: SubscriptionPayload = payloadType ? 'full-resource' : 'empty';
  if (declared === 'empty' || declared === 'id-only' || declared === 'full-resource') payload = declared;
  return {
    id,
    status: asString(resource.status),
    criteria: asString(resource.criteria),
    channelType: asString(channel.type),
    endpoint: asString(channel.endpoint),
    headers: Array.isArray(channel.header) ? channel.header.filter((h): h is string => typeof h === 'string') : [],
    payload,
    contentType: payloadType || 'application/fhir+json',
  };
}
