// Transport-neutral request/response shapes shared by REST, batch and transaction
// (FHIR R4 http.html). Nothing here knows about Express or pg.

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A JSON object as parsed from a request body (already checked for unsafe keys). */
export type JsonObject = { [key: string]: unknown };

/**
 * Who is calling and what they may reach (SMART App Launch 2.x). Built once per request by
 * src/http/authenticate.ts from a bearer token (or ANONYMOUS_ACCESS in the open embedded mode);
 * decided on in src/fhir/access/ only.
 */
export interface AccessContext {
  /** The token's `sub` (user or client id), or 'anonymous'. */
  subject: string;
  /** Granted scopes, as issued (space-separated in the token, split here). */
  scopes: readonly string[];
  /** Full access to the tenant, scopes aside: the open embedded mode and the admin API's callers. */
  isAdmin: boolean;
  /** The tenant the token was issued for (always the request's tenant once authenticated). */
  tenantId?: string;
  /** The OAuth client that holds the token. */
  clientId?: string;
  /** Launch context: the patient id that patient-context scopes are confined to (Patient compartment). */
  patient?: string;
  /** Launch context: the encounter id, when one was selected. */
  encounter?: string;
  /** The user as a FHIR reference (`Practitioner/1`, `Patient/2`), when the token has one. */
  fhirUser?: string;
  /** The token's `jti` (audit may record it; never the token itself). */
  tokenId?: string;
}

export const ANONYMOUS_ACCESS: AccessContext = Object.freeze({
  subject: 'anonymous',
  scopes: Object.freeze(['system/*.*']),
  isAdmin: true,
});

/** RFC 7240 Prefer header, the parts FHIR uses. */
export interface Preferences {
  return?: 'minimal' | 'representation' | 'OperationOutcome';
  handling?: 'strict' | 'lenient';
}

export interface FhirRequest {
  method: HttpMethod;
  tenantId: string;
  /** Absolute base URL of this tenant's endpoint, without trailing slash. */
  baseUrl: string;
  /** Path segments after the base, e.g. ['Patient', '123', '_history', '2']. */
  path: string[];
  query: URLSearchParams;
  /** The query string exactly as the client sent it (without '?'), for the audit trail's entity.query. */
  rawQuery?: string;
  /** The client's network address (the connection's peer), for the audit trail's agent.network. */
  clientAddress?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifNoneExist?: string;
  ifModifiedSince?: Date;
  prefer: Preferences;
  /** Parsed body; `bodyKind` says how to interpret it. */
  body?: unknown;
  bodyKind?: 'resource' | 'json-patch' | 'form';
  /** Original spellings of body numbers JSON.parse would change (decimal precision, see json-numbers.ts). */
  bodyNumbers?: ReadonlyMap<string, string>;
  access: AccessContext;
  requestId: string;
  /**
   * The id a create stores the resource under. Set only by transaction processing, which must
   * know it before the entry runs to rewrite references to the entry; REST creates get a new UUID.
   */
  assignedId?: string;
  /** Set on the requests of a bundle's entries: which bundle and which entry (the audit trail records it). */
  bundleEntry?: { bundleType: 'batch' | 'transaction'; index: number };
}

/**
 * A response body: either a value to serialize, or stored JSON text sent as-is
 * (reads and history pages are assembled from stored bytes without re-serializing).
 */
export type ResponseBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'raw'; text: string }
  /**
   * Sent as it is produced, with backpressure and no Content-Length (e.g. NDJSON exports):
   * never held in memory whole. `contentType` replaces the negotiated FHIR media type.
   */
  | { kind: 'stream'; contentType: string; chunks: AsyncIterable<string> };

export interface FhirResponse {
  status: number;
  headers: Record<string, string>;
  body?: ResponseBody;
  /** Unexpected errors answered inside the body (a batch entry's 500), for the HTTP layer to log. */
  unexpectedErrors?: unknown[];
}
