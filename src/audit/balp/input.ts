// What the request path tells the AuditEvent builder about one interaction (issue 11; IHE
// BALP RESTful patterns, FHIR R4 auditevent.html). Only identifiers and references travel
// here: no resource bodies, no names, no raw tokens (at most the token's `jti`).
import type { AccessContext } from '../../core/types.js';

/** FHIR restful-interaction codes this server records (capabilities is not audited). */
export type RestInteraction =
  | 'create'
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'search-type'
  | 'search-system'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'operation'
  | 'batch'
  | 'transaction';

export interface RestEvent {
  kind: 'rest';
  interaction: RestInteraction;
  /** For 'operation': its name without '$', its OperationDefinition's canonical URL, and its action (default E). */
  operation?: { name: string; definition?: string; action?: 'C' | 'R' | 'U' | 'D' | 'E' };
  /** Set when this interaction is one entry of a batch or transaction bundle. */
  bundleEntry?: { bundleType: 'batch' | 'transaction'; index: number };
}

/**
 * Authorization-server events. `login-failed` and `token-refused` are always recorded as
 * failures (outcome 4 at least), whatever status is passed.
 */
export interface SecurityEvent {
  kind: 'security';
  event: 'login' | 'login-failed' | 'logout' | 'token-issued' | 'token-refused';
}

/** A resource the interaction read or wrote: `Type/id`, with the version when known. */
export interface AuditedResource {
  reference: string;
  versionId?: string | number;
}

export interface AuditInput {
  event: RestEvent | SecurityEvent;
  /**
   * The HTTP status answered, and on failure at most a code from a fixed list (an R4
   * issue-type such as 'forbidden', or an RFC 6749 error such as 'invalid_grant'): never the
   * diagnostics text, which may quote the client's data. Unknown codes are dropped.
   */
  outcome: { status: number; code?: string };
  /** When the interaction started and ended. */
  period: { start: Date; end: Date };
  /** When the event was recorded (AuditEvent.recorded). */
  recorded: Date;
  /**
   * The caller as authenticated: client id, subject, fhirUser and the token's jti only
   * (scopes and launch context are not recorded). ANONYMOUS_ACCESS in the open mode. For a
   * failed login, `subject` must be the id of an existing account or absent — never the text
   * typed into the login form (users type passwords there).
   */
  caller: Pick<AccessContext, 'subject' | 'clientId' | 'fhirUser' | 'tokenId'>;
  /** The client's network address (IP address or host name), when known. */
  network?: string;
  /** This server: its observer id (configurable; e.g. HEARTH_PUBLIC_BASE_URL) and the tenant's base URL. */
  server: { observer: string; tenantBase?: string };
  /** The request as the client sent it (X-Request-Id, method and path relative to the base, raw query string). */
  request?: { id?: string; method?: string; path?: string; query?: string };
  /** Resources read or written (not the results of a search: those are represented by their patients). */
  entities?: readonly AuditedResource[];
  /** Patients whose data the interaction read or wrote, as `Patient/id` (a search: of the returned data). */
  patients?: readonly string[];
}

export interface BuildOptions {
  /** Ids of the events; random UUIDs by default. */
  newId?: () => string;
}
