// One error type for every failure a client can see (FHIR R4 operationoutcome.html).
// A FhirError carries the HTTP status and the OperationOutcome to send; the HTTP layer
// turns it (through toOutcome, below, the one converter) into a response.
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';

export type IssueType = OperationOutcomeIssue['code'];
export type IssueSeverity = OperationOutcomeIssue['severity'];

export interface IssueInput {
  severity?: IssueSeverity;
  code: IssueType;
  diagnostics: string;
  /** FHIRPath-style element paths, e.g. "Patient.name[0].given" */
  expression?: string[];
}

export function issue(input: IssueInput): OperationOutcomeIssue {
  const out: OperationOutcomeIssue = {
    severity: input.severity ?? 'error',
    code: input.code,
    diagnostics: input.diagnostics,
  };
  if (input.expression && input.expression.length > 0) out.expression = input.expression;
  return out;
}

export function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export class FhirError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;
  /** Extra response headers the status requires (e.g. Allow on 405). */
  headers: Record<string, string> = {};

  constructor(status: number, issues: IssueInput | IssueInput[]) {
    const list = (Array.isArray(issues) ? issues : [issues]).map(issue);
    super(list.map((i) => i.diagnostics).join('; '));
    this.name = 'FhirError';
    this.status = status;
    this.outcome = outcome(list);
  }
}

// Shorthands for the common cases; each names the FHIR issue type that fits.
export const badRequest = (diagnostics: string, expression?: string[]) =>
  new FhirError(400, { code: 'invalid', diagnostics, expression });
export const notFound = (diagnostics: string) => new FhirError(404, { code: 'not-found', diagnostics });
export const gone = (diagnostics: string) => new FhirError(410, { code: 'deleted', diagnostics });
export const preconditionFailed = (diagnostics: string) =>
  new FhirError(412, { code: 'conflict', diagnostics });
export const notSupported = (diagnostics: string, status = 400) =>
  new FhirError(status, { code: 'not-supported', diagnostics });
export const forbidden = (diagnostics: string) => new FhirError(403, { code: 'forbidden', diagnostics });
export const conflict = (diagnostics: string) => new FhirError(409, { code: 'conflict', diagnostics });

/** What a client is told about a failure: the status, the OperationOutcome and any headers. */
export interface ErrorReply {
  status: number;
  outcome: OperationOutcome;
  headers: Record<string, string>;
  /**
   * True when the failure is not a FhirError nor a client error another library reported: a
   * server bug or an outage. The caller logs it; the client sees only a 500 with a reference.
   */
  unexpected: boolean;
}

/**
 * The one converter from any thrown value to what the client sees (http.html: every failure
 * is an OperationOutcome). Used by the HTTP layer and for each batch entry. `reference` (the
 * request id) is the only thing an unexpected error's outcome says: no message, stack or SQL.
 *
 * Database errors are deliberately NOT mapped to 4xx here, not even SQLSTATE class 22 (data
 * exceptions): the same codes come from server bugs (a bad cast, an overflow in generated
 * SQL) as from client values, so mapping them would hide bugs as client errors. Client values
 * are validated before any SQL instead; a class 22 error reaching here is a bug to fix.
 */
export function toOutcome(error: unknown, reference?: string): ErrorReply {
  if (error instanceof FhirError) return { status: error.status, outcome: error.outcome, headers: error.headers, unexpected: false };
  const status = clientStatusOf(error);
  if (status === 413) {
    return reply(new FhirError(413, { code: 'too-costly', diagnostics: 'The request body exceeds the configured limit (HEARTH_MAX_BODY_BYTES)' }));
  }
  if (status !== undefined) return reply(new FhirError(status, { code: 'invalid', diagnostics: (error as Error).message }));
  const diagnostics = reference ? `Internal error (request ${reference})` : 'Internal error';
  return { ...reply(new FhirError(500, { code: 'exception', diagnostics })), unexpected: true };
}

const reply = (error: FhirError): ErrorReply => ({ status: error.status, outcome: error.outcome, headers: error.headers, unexpected: false });

/**
 * A 4xx reported by a library in the http-errors convention (Express body parsing: `status`
 * or `statusCode`, with `expose` true when its message is meant for the client).
 */
function clientStatusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { status, statusCode, expose } = error as { status?: unknown; statusCode?: unknown; expose?: unknown };
  const code = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : undefined;
  if (code === undefined || code < 400 || code > 499 || expose !== true) return undefined;
  return code;
}
