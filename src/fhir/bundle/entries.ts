// The request side of batch and transaction bundles (FHIR R4 http.html#transaction,
// bundle.html#Bundle.entry.request): checks the posted Bundle and turns each entry into a
// FhirRequest for the one router, so entries run exactly the interaction code REST requests do.
import { badRequest, FhirError } from '../../core/errors.js';
import type { NumberLexemes } from '../json-numbers.js';
import type { FhirRequest, HttpMethod, JsonObject } from '../../core/types.js';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

export interface BundleEntryRequest {
  /** Position in Bundle.entry; responses keep this order. */
  index: number;
  fullUrl?: string;
  method: HttpMethod;
  /** The entry's url relative to the base, e.g. `Patient/1` or `Patient?identifier=a|b`. */
  url: string;
  path: string[];
  query: URLSearchParams;
  resource?: JsonObject;
  request: FhirRequest;
}

export interface BundleLimits {
  maxEntries: number;
}

const at = (index: number, element: string) => `Bundle.entry[${index}]${element ? `.${element}` : ''}`;

export function entryError(index: number, element: string, message: string, status = 400): FhirError {
  return new FhirError(status, { code: status === 400 ? 'invalid' : 'processing', diagnostics: `${at(index, element)}: ${message}`, expression: [at(index, element)] });
}

/** The Bundle's type, checked: only batch and transaction may be posted to the base. */
export function bundleType(body: unknown): 'batch' | 'transaction' {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || (body as JsonObject).resourceType !== 'Bundle') {
    throw badRequest('POST to the base takes a Bundle of type batch or transaction', ['Bundle']);
  }
  const type = (body as JsonObject).type;
  if (type !== 'batch' && type !== 'transaction') {
    throw badRequest(`Bundle.type must be batch or transaction to be processed, not ${JSON.stringify(type)}`, ['Bundle.type']);
  }
  return type;
}

/** The entries as requests; 400 naming the entry and element for anything malformed. */
export function parseEntries(outer: FhirRequest, bundle: JsonObject, limits: BundleLimits): BundleEntryRequest[] {
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries)) throw badRequest('Bundle.entry must be an array', ['Bundle.entry']);
  if (entries.length > limits.maxEntries) {
    throw new FhirError(413, { code: 'too-costly', diagnostics: `The bundle has ${entries.length} entries; this server takes at most ${limits.maxEntries}`, expression: ['Bundle.entry'] });
  }
  const parsed = entries.map((entry, index) => parseEntry(outer, entry, index));
  // bdl-7: a fullUrl names one entry (versions of one resource only occur in history bundles).
  const seen = new Map<string, number>();
  for (const entry of parsed) {
    if (entry.fullUrl === undefined) continue;
    const first = seen.get(entry.fullUrl);
    if (first !== undefined) throw entryError(entry.index, 'fullUrl', `${entry.fullUrl} is also the fullUrl of Bundle.entry[${first}]`);
    seen.set(entry.fullUrl, entry.index);
  }
  return parsed;
}

function parseEntry(outer: FhirRequest, entry: unknown, index: number): BundleEntryRequest {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw entryError(index, '', 'an entry must be an object');
  const e = entry as JsonObject;
  const request = e.request as JsonObject | undefined;
  if (!request || typeof request !== 'object' || Array.isArray(request)) throw entryError(index, 'request', 'request (method and url) is required');
  const method = request.method;
  if (typeof method !== 'string' || !METHODS.has(method)) throw entryError(index, 'request.method', `method must be one of ${[...METHODS].join(', ')}`);
  if (typeof request.url !== 'string' || request.url.trim() === '') throw entryError(index, 'request.url', 'url is required');
  const url = relativeUrl(request.url.trim(), outer.baseUrl, index);
  const [pathPart, queryPart = ''] = splitOnce(url, '?');
  const path = pathPart.split('/').filter((s) => s !== '').map((s) => decodeSegment(s, index));
  if (path.length === 0 && method !== 'GET' && method !== 'HEAD') throw entryError(index, 'request.url', `'${request.url}' names no resource type`);
  const resource = e.resource === undefined ? undefined : (e.resource as JsonObject);
  if (resource !== undefined && (resource === null || typeof resource !== 'object' || Array.isArray(resource))) throw entryError(index, 'resource', 'must be a resource (a JSON object)');
  if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && resource === undefined) throw entryError(index, 'resource', `a ${method} entry needs a resource`);
  const fullUrl = typeof e.fullUrl === 'string' ? e.fullUrl : undefined;
  const query = new URLSearchParams(queryPart);
  const str = (key: string) => (typeof request[key] === 'string' ? (request[key] as string) : undefined);
  const ifModifiedSince = str('ifModifiedSince');
  const since = ifModifiedSince === undefined ? undefined : new Date(ifModifiedSince);
  if (since && Number.isNaN(since.getTime())) throw entryError(index, 'request.ifModifiedSince', 'not a valid instant');
  const { body, bodyKind } = entryBody(method, resource, index);
  return {
    index,
    fullUrl,
    method: method as HttpMethod,
    url,
    path,
    query,
    resource,
    request: {
      method: method as HttpMethod,
      tenantId: outer.tenantId,
      baseUrl: outer.baseUrl,
      path,
      query,
      ifMatch: str('ifMatch'),
      ifNoneMatch: str('ifNoneMatch'),
      ifNoneExist: str('ifNoneExist'),
      ifModifiedSince: since,
      // Entries answer without their resource unless the client asked for it (http.html#transaction-response).
      prefer: { ...outer.prefer, return: outer.prefer.return ?? 'minimal' },
      body,
      bodyKind,
      bodyNumbers: numbersUnder(outer.bodyNumbers, `/entry/${index}/resource`),
      access: outer.access,
      requestId: `${outer.requestId}/${index}`,
    },
  };
}

/** PATCH entries carry JSON Patch as a Binary (base64 data) or FHIRPath Patch as Parameters. */
function entryBody(method: string, resource: JsonObject | undefined, index: number): Pick<FhirRequest, 'body' | 'bodyKind'> {
  if (resource === undefined) return {};
  if (method !== 'PATCH' || resource.resourceType !== 'Binary') return { body: resource, bodyKind: 'resource' };
  if (typeof resource.data !== 'string') throw entryError(index, 'resource.data', 'a JSON Patch Binary needs base64 data');
  try {
    return { body: JSON.parse(Buffer.from(resource.data, 'base64').toString('utf8')), bodyKind: 'json-patch' };
  } catch {
    throw entryError(index, 'resource.data', 'the Binary data is not a JSON Patch document (base64 of JSON)');
  }
}

/** Entry urls are relative to the base; an absolute url on this base is made relative. */
function relativeUrl(url: string, base: string, index: number): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) {
    if (url.startsWith(`${base}/`)) return url.slice(base.length + 1);
    throw entryError(index, 'request.url', `'${url}' is not on this server's base ${base}`);
  }
  return url.replace(/^\/+/, '');
}

function splitOnce(text: string, separator: string): [string, string?] {
  const i = text.indexOf(separator);
  return i < 0 ? [text] : [text.slice(0, i), text.slice(i + 1)];
}

function decodeSegment(segment: string, index: number): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw entryError(index, 'request.url', `'${segment}' is not a valid path segment`);
  }
}

/** The entry's share of the body's preserved number lexemes, re-rooted at its resource. */
function numbersUnder(numbers: NumberLexemes | undefined, prefix: string): NumberLexemes | undefined {
  if (!numbers) return undefined;
  const mine = new Map<string, string>();
  for (const [pointer, lexeme] of numbers) if (pointer.startsWith(`${prefix}/`)) mine.set(pointer.slice(prefix.length), lexeme);
  return mine.size === 0 ? undefined : mine;
}
