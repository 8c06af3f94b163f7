// The FHIR transport of sync destinations (issue 13, docs/sync.md), sent with fhir-kit-client.
// Mode 'put': update as R4 http.html#update, PUT [base]/[type]/[id] with the resource; a delete is
// DELETE [base]/[type]/[id] (http.html#delete; 404 and 410 mean it is gone already, delivered).
// Mode 'conditional': conditional update, PUT [base]/[type]?identifier=system|value with the
// resource's first identifier and no id in the body (http.html#cond-update); a delete is a
// conditional delete on the last version's identifier (http.html#3.1.0.7.1). Sync destinations
// are the operator's, so they are not subject to the SSRF guard; redirects are still not followed.
//
// What fhir-kit-client (2.x) allows: per-request headers (options.headers), an AbortSignal
// (options.signal, our timeout) and fetch options such as `redirect` (passed through to fetch);
// a success carries the fetch Response (RESPONSE_KEY), a failure an error with response.status,
// response.data (the parsed body) and config.headers (the response headers, for Retry-After).
// It throws on a non-JSON body even with a 2xx status, which still counts as delivered here.
import { Client, RESPONSE_KEY, type FhirResource, type FhirResponse, type RequestOptions } from 'fhir-kit-client';
import type { Config } from '../../core/config.js';
import type { DeliveryResult, SyncItem, SyncTransport } from '../delivery/contracts.js';
import { classifyNetworkError, classifyResponse, timeoutError } from './classify-response.js';
import { DestinationAuthorizer } from './destination-auth.js';

interface Identifier {
  system?: unknown;
  value?: unknown;
}

interface KitError {
  response?: { status?: unknown; data?: unknown };
  config?: { headers?: { get?(name: string): string | null } };
}

/** A failure of fhir-kit-client that carries the partner's answer. */
function answerOf(error: unknown): { status: number; body: unknown; retryAfter: string | null; location: string | null } | undefined {
  const kit = error as KitError;
  if (typeof kit?.response?.status !== 'number') return undefined;
  const headers = kit.config?.headers;
  const get = (name: string): string | null => (typeof headers?.get === 'function' ? headers.get(name) : null);
  return { status: kit.response.status, body: kit.response.data, retryAfter: get('retry-after'), location: get('location') };
}

/** `identifier=system|value` for a resource's first identifier (`|value` when it has no system), or undefined. */
export function identifierQuery(resource: Readonly<Record<string, unknown>>): string | undefined {
  const first = Array.isArray(resource.identifier) ? (resource.identifier[0] as Identifier | undefined) : undefined;
  if (typeof first?.value !== 'string' || !first.value) return undefined;
  return `${typeof first.system === 'string' ? first.system : ''}|${first.value}`;
}

function parseResource(text: string): FhirResource {
  return JSON.parse(text) as FhirResource;
}

export interface FhirSyncTransportOptions {
  config: Pick<Config, 'deliveryTimeoutMs'>;
  /** Shared so SMART tokens are cached across sends; one is made when not given. */
  authorizer?: DestinationAuthorizer;
}

type Send = (client: Client, options: RequestOptions) => Promise<FhirResource>;

/** Sends resource versions to FHIR sync destinations with fhir-kit-client. */
export class FhirSyncTransport implements SyncTransport {
  private readonly timeoutMs: number;
  readonly authorizer: DestinationAuthorizer;

  constructor(options: FhirSyncTransportOptions) {
    this.timeoutMs = options.config.deliveryTimeoutMs;
    this.authorizer = options.authorizer ?? new DestinationAuthorizer({ timeoutMs: this.timeoutMs });
  }

  async send(item: SyncItem): Promise<DeliveryResult> {
    let plan: { send: Send } | DeliveryResult;
    try {
      plan = this.plan(item);
    } catch (error) {
      return { kind: 'reject', reason: `${item.resourceType}/${item.id} version ${item.versionId} is not JSON: ${(error as Error).message}` };
    }
    if ('kind' in plan) return plan;
    const first = await this.attempt(item, plan.send);
    // A cached SMART token the partner no longer accepts: drop it and try once with a fresh one.
    if (first.result.kind === 'reject' && first.result.status === 401 && first.cachedToken) {
      this.authorizer.invalidate(item.destination);
      return (await this.attempt(item, plan.send)).result;
    }
    return first.result;
  }

  /** The fhir-kit-client call for the item, or the reason it cannot be sent. */
  private plan(item: SyncItem): { send: Send } | DeliveryResult {
    const { resourceType, id, destination } = item;
    if (destination.mode === 'put') {
      if (item.content === null) return { send: (client, options) => client.delete({ resourceType, id, options }) };
      const body = parseResource(item.content);
      return { send: (client, options) => client.update({ resourceType, id, body, options }) };
    }
    const source = item.content ?? item.previousContent ?? null;
    const query = source === null ? undefined : identifierQuery(parseResource(source));
    if (query === undefined) {
      return { kind: 'reject', reason: `${resourceType}/${id} has no identifier with a value: conditional sync to ${destination.id} cannot address it` };
    }
    if (item.content === null) {
      const url = `${resourceType}?${new URLSearchParams({ identifier: query }).toString()}`;
      return { send: (client, options) => client.request(url, { method: 'DELETE', options }) };
    }
    const { id: _id, ...body } = parseResource(item.content);
    return { send: (client, options) => client.update({ resourceType, searchParams: { identifier: query }, body: body as FhirResource, options }) };
  }

  private async attempt(item: SyncItem, send: Send): Promise<{ result: DeliveryResult; cachedToken: boolean }> {
    const auth = await this.authorizer.authorization(item.destination);
    if (!auth.ok) return { result: auth.result, cachedToken: false };
    const client = new Client({ baseUrl: item.destination.endpoint });
    const options: RequestOptions = {
      headers: auth.header === undefined ? {} : { authorization: auth.header },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.timeoutMs),
    };
    // A delete of something the partner does not have is done.
    const goneIsDelivered = item.content === null;
    try {
      const response = ((await send(client, options)) as FhirResponse)[RESPONSE_KEY];
      return { result: { kind: 'delivered', status: response?.status ?? 200 }, cachedToken: auth.cached };
    } catch (error) {
      const answer = answerOf(error);
      if (!answer) return { result: classifyNetworkError(isAbort(error) ? timeoutError(this.timeoutMs) : error), cachedToken: auth.cached };
      if (goneIsDelivered && (answer.status === 404 || answer.status === 410)) return { result: { kind: 'delivered', status: answer.status }, cachedToken: auth.cached };
      return { result: classifyResponse(answer), cachedToken: auth.cached };
    }
  }
}

/** The signal's timeout surfaces as a TimeoutError (or an AbortError wrapping it, depending on where fetch was). */
function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** The FHIR sync transport configured from Hearth's settings. */
export function createFhirSyncTransport(options: FhirSyncTransportOptions): FhirSyncTransport {
  return new FhirSyncTransport(options);
}
