// One error type for every failure a client can see (FHIR R4 operationoutcome.html).
// A FhirError carries the HTTP status and the OperationOutcome to send; the HTTP layer
// converts it, and nothing else, into a response.
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
