// Express request -> transport-neutral FhirRequest (the only place that reads HTTP headers
// for FHIR semantics).
import type { Request } from 'express';
import type { AccessContext, FhirRequest, HttpMethod, Preferences } from '../core/types.js';
import { FhirError } from '../core/errors.js';
import { captureNumberLexemes } from '../fhir/json-numbers.js';
import { parseJsonBody } from '../fhir/validation/safe-json.js';
import { bodyKindFor } from './negotiation.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

export interface BaseMatch {
  tenantId: string;
  /** The base path as requested, e.g. /fhir or /t/acme/fhir. */
  basePath: string;
  /** Path segments after the base. */
  segments: string[];
}

/** Splits /fhir/... and /t/{tenant}/fhir/... ; undefined when the path is not a FHIR base. */
export function matchBase(path: string): BaseMatch | undefined {
  const m = /^(\/fhir|\/t\/([^/]+)\/fhir)(?:\/(.*))?$/.exec(path);
  if (!m) return undefined;
  const segments = (m[3] ?? '').split('/').filter((s) => s.length > 0).map(decodeSegment);
  return { tenantId: m[2] === undefined ? 'default' : decodeSegment(m[2]), basePath: m[1], segments };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new FhirError(400, { code: 'invalid', diagnostics: `Invalid percent-encoding in URL segment '${s}'` });
  }
}

export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = {};
  for (const part of (header ?? '').split(/[,;]/)) {
    const [name, raw] = part.split('=').map((s) => s?.trim());
    const key = name?.toLowerCase(); // RFC 7240 section 2: names are case-insensitive, values are not
    const value = raw?.replace(/^"|"$/g, '');
    if (key === 'return' && (value === 'minimal' || value === 'representation' || value === 'OperationOutcome')) prefs.return = value;
    if (key === 'handling' && (value === 'strict' || value === 'lenient')) prefs.handling = value;
  }
  return prefs;
}

function httpDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** A form body (POST _search), which must be valid UTF-8. */
function parseFormBody(bytes: Buffer): URLSearchParams {
  try {
    return new URLSearchParams(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new FhirError(400, { code: 'invalid', diagnostics: 'The form body is not valid UTF-8' });
  }
}

/** The query string exactly as the client sent it, without '?' (the audit trail records it as is). */
export function rawQueryOf(req: Request): string {
  return req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
}

/** POST to an operation or to _search may carry no body (operation parameters are optional). */
const bodyOptional = (segments: readonly string[]) => {
  const last = segments[segments.length - 1] ?? '';
  return last.startsWith('$') || last === '_search';
};

export interface BodyLimits {
  maxDepth: number;
}

export function toFhirRequest(
  req: Request,
  match: BaseMatch,
  baseUrl: string,
  requestId: string,
  limits: BodyLimits,
  access: AccessContext,
): FhirRequest {
  const method = req.method.toUpperCase();
  if (!METHODS.has(method)) throw new FhirError(405, { code: 'not-supported', diagnostics: `Method ${method} is not supported` });
  const rawQuery = rawQueryOf(req);
  const query = new URLSearchParams(rawQuery);
  const fhirRequest: FhirRequest = {
    method: method as HttpMethod,
    tenantId: match.tenantId,
    baseUrl,
    path: match.segments,
    query,
    rawQuery,
    clientAddress: req.socket?.remoteAddress,
    ifMatch: req.get('if-match'),
    ifNoneMatch: req.get('if-none-match'),
    ifNoneExist: req.get('if-none-exist'),
    ifModifiedSince: httpDate(req.get('if-modified-since')),
    prefer: parsePrefer(req.get('prefer')),
    access,
    requestId,
  };
  const bytes = Buffer.isBuffer(req.body) ? req.body : undefined;
  if (bytes && bytes.length > 0) {
    fhirRequest.bodyKind = bodyKindFor(req.get('content-type'), method);
    if (fhirRequest.bodyKind === 'form') {
      fhirRequest.body = parseFormBody(bytes);
    } else {
      fhirRequest.body = parseJsonBody(bytes, limits);
      fhirRequest.bodyNumbers = captureNumberLexemes(bytes.toString('utf8'));
    }
  } else if ((method === 'POST' && !bodyOptional(match.segments)) || method === 'PUT' || method === 'PATCH') {
    throw new FhirError(400, { code: 'required', diagnostics: `${method} needs a request body` });
  }
  return fhirRequest;
}
