// The rest-hook transport of R4 Subscriptions (hl7.org/fhir/R4/subscription.html#channels, issue 13):
// payload empty -> POST [endpoint] with no body; id-only -> POST [endpoint] with no body and the
// version's URL in Content-Location; full-resource -> PUT [endpoint]/[type]/[id] with the resource
// (DELETE there when the resource was deleted); a handshake -> POST [endpoint] with no body.
// `channel.header` lines are sent as headers. Endpoints are chosen by clients, so every request
// goes through the SSRF guard after DNS resolution (node:http's `lookup`), redirects are never
// followed, and each request is bounded by config.deliveryTimeoutMs. node:http rather than fetch:
// fetch cannot take a `lookup`, which is what ties the connection to the checked address.
import http from 'node:http';
import https from 'node:https';
import type { Config } from '../../core/config.js';
import type { DeliveryResult, RestHookItem, RestHookTransport } from '../delivery/contracts.js';
import { SsrfGuard, SsrfRefusedError, type Resolver } from '../net/ssrf-guard.js';
import { classifyNetworkError, classifyResponse, timeoutError } from './classify-response.js';

/** Partner bodies are read up to this (enough for any OperationOutcome); the rest is discarded. */
const MAX_BODY_BYTES = 256 * 1024;
/** RFC 9110 section 5.6.2 token: a header field name. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers a Subscription may not set: they frame the message or route it (request smuggling, virtual-host games). */
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

export interface RestHookRequest {
  method: 'POST' | 'PUT' | 'DELETE';
  url: URL;
  headers: Record<string, string | string[]>;
  body?: string;
}

class MalformedHeaderError extends Error {}

/** `channel.header` lines ("Name: value") as header fields; throws on a malformed or forbidden line. */
export function parseHeaderLines(lines: readonly string[]): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    const value = colon < 0 ? '' : line.slice(colon + 1).trim();
    if (!FIELD_NAME.test(name)) throw new MalformedHeaderError(`the channel.header line "${line.slice(0, 100)}" is not "Name: value"`);
    // RFC 9110 section 5.5: no CR, LF or NUL in a field value; other controls are refused too.
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) throw new MalformedHeaderError(`the channel.header "${name}" has a control character in its value`);
    const key = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(key)) throw new MalformedHeaderError(`the channel.header "${name}" may not be set by a Subscription`);
    (headers[key] ??= []).push(value);
  }
  return headers;
}

/** [endpoint]/[type]/[id], keeping the endpoint's query. */
function resourceUrl(endpoint: URL, item: RestHookItem): URL {
  const url = new URL(endpoint);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(item.resourceType)}/${encodeURIComponent(item.id)}`;
  return url;
}

/** The request R4 prescribes for one notification (throws MalformedHeaderError on a bad channel.header). */
export function buildRestHookRequest(item: RestHookItem): RestHookRequest {
  const endpoint = new URL(item.endpoint);
  const headers: Record<string, string | string[]> = { 'user-agent': 'Hearth', accept: 'application/fhir+json, application/json' };
  Object.assign(headers, parseHeaderLines(item.headers));
  if (item.kind === 'handshake' || item.payload === 'empty') return { method: 'POST', url: endpoint, headers };
  if (item.payload === 'id-only') return { method: 'POST', url: endpoint, headers: { ...headers, 'content-location': item.resourceUrl } };
  const url = resourceUrl(endpoint, item);
  if (item.content === null) return { method: 'DELETE', url, headers };
  return { method: 'PUT', url, headers: { ...headers, 'content-type': item.contentType }, body: item.content };
}

export interface RestHookTransportOptions {
  config: Pick<Config, 'deliveryTimeoutMs' | 'outboundAllow'>;
  /** DNS for the guard (tests inject one); defaults to the system resolver. */
  resolver?: Resolver;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Sends rest-hook notifications over node:http/https through the SSRF guard. */
export class HttpRestHookTransport implements RestHookTransport {
  readonly guard: SsrfGuard;
  private readonly timeoutMs: number;
  // Own agents: a pooled socket from the global agent might have been connected without the guard.
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  constructor(options: RestHookTransportOptions) {
    this.guard = new SsrfGuard({ allow: options.config.outboundAllow, resolver: options.resolver });
    this.timeoutMs = options.config.deliveryTimeoutMs;
  }

  async send(item: RestHookItem): Promise<DeliveryResult> {
    let request: RestHookRequest;
    try {
      request = buildRestHookRequest(item);
    } catch (error) {
      if (error instanceof MalformedHeaderError) return { kind: 'reject', reason: error.message };
      return { kind: 'reject', reason: `the endpoint "${item.endpoint}" is not an absolute URL` };
    }
    const { url } = request;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'reject', reason: `the scheme ${url.protocol} is not allowed (only http and https)` };
    // node:net connects to an IP literal without calling `lookup`: check it here.
    const literalRefusal = this.guard.checkLiteralHost(url.hostname);
    if (literalRefusal) return { kind: 'reject', reason: `refused to connect to ${url.hostname}: ${literalRefusal}` };
    try {
      const answer = await this.exchange(request);
      return classifyResponse({ status: answer.status, retryAfter: header(answer.headers, 'retry-after'), location: header(answer.headers, 'location'), body: answer.body });
    } catch (error) {
      if (error instanceof SsrfRefusedError) return { kind: 'reject', reason: error.message };
      return classifyNetworkError(error);
    }
  }

  /** Frees the pooled connections. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private exchange(request: RestHookRequest): Promise<Answer> {
    const { url, body } = request;
    const secure = url.protocol === 'https:';
    const headers = { ...request.headers, 'content-length': String(body === undefined ? 0 : Buffer.byteLength(body)) };
    return new Promise<Answer>((resolve, reject) => {
      const req = (secure ? https : http).request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers,
        agent: secure ? this.agents.https : this.agents.http,
        lookup: this.guard.lookup,
      });
      const timer = setTimeout(() => req.destroy(timeoutError(this.timeoutMs)), this.timeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES) });
        });
      });
      req.end(body);
    });
  }
}

/** The rest-hook transport configured from Hearth's settings. */
export function createRestHookTransport(options: RestHookTransportOptions): HttpRestHookTransport {
  return new HttpRestHookTransport(options);
}
