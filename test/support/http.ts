// Plain-fetch helpers for the end-to-end tier, for the tests where status codes, headers
// and raw bodies matter (fhir-kit-client hides them).
import assert from 'node:assert/strict';
import type { OperationOutcome } from 'fhir/r4.js';

export const FHIR_JSON = 'application/fhir+json';

export interface HttpInit extends RequestInit {
  /** Sent as JSON.stringify(json); Content-Type defaults to application/fhir+json. */
  json?: unknown;
  /** Content-Type of the request, overriding the default and any content-type in `headers`. */
  contentType?: string;
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  /** The raw response body ('' when there is none). */
  text: string;
  /** The parsed body; undefined when the response has no body. */
  body: T;
}

/**
 * fetch with FHIR defaults: Accept application/fhir+json unless `headers` has one, a `json`
 * body sent as application/fhir+json unless `contentType` (or a content-type header) says
 * otherwise, and `body` for a raw body. The response body is parsed when there is one.
 */
export async function http<T = any>(url: string, init: HttpInit = {}): Promise<HttpResult<T>> {
  const { json, contentType, ...rest } = init;
  if (json !== undefined && rest.body != null) throw new TypeError('http(): pass either json or body, not both');
  const headers = new Headers(rest.headers);
  if (!headers.has('accept')) headers.set('accept', FHIR_JSON);
  if (contentType !== undefined) headers.set('content-type', contentType);
  else if (json !== undefined && !headers.has('content-type')) headers.set('content-type', FHIR_JSON);
  const res = await fetch(url, { ...rest, headers, body: json === undefined ? rest.body : JSON.stringify(json) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: (text ? JSON.parse(text) : undefined) as T };
}

/** The HTTP status of a fhir-kit-client request that must fail; fails the test when it succeeds. */
export async function clientStatus(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    const status = (error as { response?: { status?: number } }).response?.status;
    if (typeof status === 'number') return status;
    throw error;
  }
  assert.fail('expected the request to fail');
}

/** Asserts an OperationOutcome with at least one issue (and, given `code`, an issue with that code). */
export function assertOutcome(body: unknown, code?: string): OperationOutcome {
  const outcome = body as OperationOutcome;
  assert.equal(outcome?.resourceType, 'OperationOutcome', `expected an OperationOutcome, got ${JSON.stringify(body)}`);
  assert.ok(outcome.issue.length > 0);
  if (code) assert.ok(outcome.issue.some((i) => i.code === code), `issue code ${code} in ${JSON.stringify(outcome)}`);
  return outcome;
}
