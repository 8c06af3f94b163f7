// Checks on writing an R4 Subscription (hl7.org/fhir/R4/subscription.html), made inside the
// write's transaction by the outbox recorder, so REST, batch, transaction and `hearth load`
// all refuse the same things with a 400 naming the element:
// - criteria must compile for the in-memory matcher (what Hearth cannot evaluate is refused, not ignored);
// - only rest-hook channels are delivered; others are refused as not supported;
// - the endpoint must be an absolute http(s) URL that the SSRF guard lets Hearth reach (checked
//   again, after DNS resolution, at every delivery);
// - each channel.header must be a "Name: value" line.
// A Subscription written with status `requested` gets a handshake: an empty POST to its endpoint,
// after which the worker sets it `active` (or `error`).
import { FhirError } from '../../core/errors.js';
import type { JsonObject } from '../../core/types.js';
import { compileCriteria } from '../../search/criteria-match.js';
import type { SearchRegistry } from '../../search/registry/registry.js';
import { readSubscription } from './subscription-channel.js';

/** Resolves to a reason when Hearth may not send to `url`, undefined when it may. */
export type EndpointCheck = (url: string) => Promise<string | undefined>;

const HEADER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t ]*[^\r\n]*$/;
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

function invalid(diagnostics: string, expression: string, code: 'invalid' | 'not-supported' | 'security' = 'invalid'): FhirError {
  return new FhirError(400, { code, diagnostics, expression: [expression] });
}

export async function checkSubscriptionWrite(registry: SearchRegistry, id: string, resource: JsonObject, checkEndpoint: EndpointCheck): Promise<{ handshake: boolean }> {
  const s = readSubscription(id, resource);
  if (s.status === 'off' || s.status === 'error') return { handshake: false };
  if (!s.criteria) throw invalid('Subscription.criteria is required', 'Subscription.criteria');
  try {
    compileCriteria(registry, s.criteria);
  } catch (error) {
    const why = error instanceof FhirError ? error.outcome.issue[0]?.diagnostics : String(error);
    throw invalid(`Subscription.criteria cannot be evaluated: ${why}`, 'Subscription.criteria', 'not-supported');
  }
  if (s.channelType !== 'rest-hook') throw invalid(`channel.type '${s.channelType}' is not supported: Hearth delivers rest-hook channels only`, 'Subscription.channel.type', 'not-supported');
  let url: URL;
  try {
    url = new URL(s.endpoint);
  } catch {
    throw invalid('channel.endpoint must be an absolute http or https URL', 'Subscription.channel.endpoint');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('channel.endpoint must be an absolute http or https URL', 'Subscription.channel.endpoint');
  if (url.username || url.password) throw invalid('channel.endpoint must not carry credentials: use channel.header', 'Subscription.channel.endpoint');
  for (const [i, line] of s.headers.entries()) {
    if (!HEADER_LINE.test(line)) throw invalid(`channel.header[${i}] must be a "Name: value" line`, `Subscription.channel.header[${i}]`);
    if (FORBIDDEN_HEADERS.has(line.slice(0, line.indexOf(':')).toLowerCase())) throw invalid(`channel.header[${i}] may not set ${line.slice(0, line.indexOf(':'))}`, `Subscription.channel.header[${i}]`);
  }
  const refused = await checkEndpoint(s.endpoint);
  if (refused) throw invalid(`channel.endpoint may not be reached: ${refused}`, 'Subscription.channel.endpoint', 'security');
  return { handshake: s.status === 'requested' };
}
