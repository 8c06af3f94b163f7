// The response side of batch and transaction (FHIR R4 bundle.html#Bundle.entry.response,
// http.html#transaction-response): each entry's status, location, etag and lastModified, and
// its resource or OperationOutcome when there is one; errors that name the entry.
import { STATUS_CODES } from 'node:http';
import type { StoredVersion } from '../../storage/resource-store.js';
import { FhirError, type ErrorReply } from '../../core/errors.js';
import { etag } from '../versioning.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import { bodyValue } from '../../core/response-body.js';

export const statusLine = (status: number): string => `${status} ${STATUS_CODES[status] ?? ''}`.trim();

/** Bundle.entry for one interaction's response; `existing`: a conditional create that matched. */
export function entryResponse(outer: FhirRequest, res: FhirResponse, existing?: StoredVersion): JsonObject {
  const response: JsonObject = { status: statusLine(res.status) };
  const location = existing ? `${outer.baseUrl}/${existing.resourceType}/${existing.id}/_history/${existing.versionId}` : res.headers.Location;
  if (location) response.location = location.startsWith(`${outer.baseUrl}/`) ? location.slice(outer.baseUrl.length + 1) : location;
  const tag = existing ? etag(existing.versionId) : res.headers.ETag;
  if (tag) response.etag = tag;
  const modified = existing ? existing.lastUpdated : res.headers['Last-Modified'] ? new Date(res.headers['Last-Modified']) : undefined;
  if (modified) response.lastModified = modified.toISOString();
  const entry: JsonObject = {};
  const body = existing ? (outer.prefer.return === 'representation' && existing.content ? JSON.parse(existing.content) : undefined) : bodyOf(res);
  if (body && body.resourceType === 'OperationOutcome' && !existing) response.outcome = body;
  else if (body) entry.resource = body;
  entry.response = response;
  return entry;
}

function bodyOf(res: FhirResponse): JsonObject | undefined {
  if (!res.body) return undefined;
  return bodyValue(res.body) as JsonObject;
}

/** An element path of the entry's resource (`Patient.name[0]`) re-rooted at the entry; others as they are. */
function inEntry(expression: string, prefix: string): string {
  if (expression.startsWith('Bundle.')) return expression;
  return /^[A-Z][A-Za-z]*(\.|\[|$)/.test(expression) ? `${prefix}.resource${expression.replace(/^[A-Z][A-Za-z]*/, '')}` : expression;
}

/** An entry's failure as the batch-response entry that reports it. */
export function failedEntry(reply: ErrorReply): JsonObject {
  return { response: { status: statusLine(reply.status), outcome: reply.outcome } };
}

/** `error` with `Bundle.entry[index]` in its diagnostics and expressions; other errors as they are. */
export function errorWithEntry(error: unknown, index: number): unknown {
  if (!(error instanceof FhirError)) return error;
  const prefix = `Bundle.entry[${index}]`;
  if (error.outcome.issue.every((i) => i.diagnostics?.startsWith(prefix))) return error;
  const wrapped = new FhirError(
    error.status,
    error.outcome.issue.map((i) => ({
      severity: i.severity,
      code: i.code,
      diagnostics: i.diagnostics?.startsWith(prefix) ? i.diagnostics : `${prefix}: ${i.diagnostics ?? i.code}`,
      expression: [prefix, ...(i.expression ?? []).map((e) => inEntry(e, prefix))].filter((e, n, all) => all.indexOf(e) === n),
    })),
  );
  wrapped.headers = error.headers;
  return wrapped;
}
