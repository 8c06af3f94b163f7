// AuditEvent.outcome and .outcomeDesc from the status answered (FHIR R4 auditevent.html,
// value set audit-event-outcome): 0 success, 4 minor failure (the client's request was
// refused and may be retried differently: 4xx), 8 serious failure (the server failed: 5xx),
// 12 major failure (the service was unavailable: 503). The description names the status and
// at most a code from a fixed list, never free text, so no PHI can reach it.
import type { OutcomeCode } from './codes.js';

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** R4 issue-type codes (OperationOutcome.issue.code) and RFC 6749 / 6750 error codes. */
const KNOWN_CODES: ReadonlySet<string> = new Set([
  'invalid', 'structure', 'required', 'value', 'invariant', 'security', 'login', 'unknown', 'expired', 'forbidden',
  'suppressed', 'processing', 'not-supported', 'duplicate', 'multiple-matches', 'not-found', 'deleted', 'too-long',
  'code-invalid', 'extension', 'too-costly', 'business-rule', 'conflict', 'transient', 'lock-error', 'no-store',
  'exception', 'timeout', 'incomplete', 'throttled', 'informational',
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope',
  'access_denied', 'unsupported_response_type', 'server_error', 'temporarily_unavailable', 'invalid_token', 'insufficient_scope',
  'slow_down',
]);

export interface Outcome {
  outcome: OutcomeCode;
  outcomeDesc?: string;
}

/**
 * The outcome of a status. `failed` forces a failure even for a success status (a refused
 * login answered by a 200 page or a redirect is still a failure).
 */
export function outcomeOf(status: number, code?: string, failed = false): Outcome {
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new Error(`Not an HTTP status: ${status}`);
  if (status < 400 && !failed) return { outcome: '0' };
  const outcome: OutcomeCode = status === 503 ? '12' : status >= 500 ? '8' : '4';
  const reason = REASONS[status] ?? (status >= 500 ? 'Server Error' : status >= 400 ? 'Client Error' : 'Refused');
  const known = code !== undefined && KNOWN_CODES.has(code) ? ` (${code})` : '';
  return { outcome, outcomeDesc: `${status} ${reason}${known}` };
}
