// How the authorization server records its security events (issue 11 "Recording": login, token
// issue, token refusal and logout, AuditEvent type `security`; IHE BALP / DICOM "User
// Authentication"). The auth layer calls record() and awaits it: the event is committed to the
// tenant's audit trail before the response is sent. It throws when the trail cannot be written;
// the endpoint then answers 503 and grants nothing (a refusal it was about to send stays a refusal).
import type { SecurityEvent } from './balp/input.js';

export interface SecurityAuditEntry {
  event: SecurityEvent['event'];
  /** The HTTP status the endpoint answers. */
  status: number;
  /** On failure, the RFC 6749 error code (e.g. 'invalid_grant'); never a description text. */
  code?: string;
  /**
   * Who: the OAuth client, the user account id, fhirUser and the token's jti when known. For a
   * failed login `subject` is the id of an existing account whose password was wrong, or absent:
   * never the text typed into the form.
   */
  caller: { subject?: string; clientId?: string; fhirUser?: string; tokenId?: string };
  /** The client's network address. */
  network?: string;
  /** The request: its id and its path below the tenant base (e.g. 'auth/token'). */
  request?: { id?: string; method?: string; path?: string };
  /** When the endpoint started handling the request. */
  started: Date;
}

export interface SecurityAuditSink {
  record(tenantId: string, tenantBase: string, entry: SecurityAuditEntry): Promise<void>;
}
