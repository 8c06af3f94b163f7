// The audit trail could not be written (issue 11 "Durable before the response"): the request
// fails with 503 and returns no data. Distinct from other 503s so that the service does not
// try, and fail, to record the failure of recording.
import { FhirError } from '../core/errors.js';

export class AuditUnavailable extends FhirError {
  constructor(cause?: unknown) {
    super(503, { code: 'transient', diagnostics: 'The audit trail could not be written, so the request was not served; try again later' });
    this.name = 'AuditUnavailable';
    if (cause !== undefined) this.cause = cause;
  }
}
