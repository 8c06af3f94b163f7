// The AuditEvent builder's public surface (issue 11; IHE BALP RESTful patterns, FHIR R4
// auditevent.html): the request path calls buildAuditEvents once per interaction or bundle
// entry and stores what it returns (auditRowsOf turns them into audit-store rows, patientsOf
// gives the `patients` column); restEventOf, requestOf and observerId build the input from
// what the FHIR layer knows.
export { buildAuditEvents, patientsOf } from './build.js';
export { observerId, requestOf, restEventOf } from './from-request.js';
export { auditRowsOf } from './rows.js';
export type { AuditInput, AuditedResource, BuildOptions, RestEvent, RestInteraction, SecurityEvent } from './input.js';
