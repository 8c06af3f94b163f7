// $export-ndjson (issue 11 "Auditor access"): the tenant's AuditEvents recorded in
// [_since, _until), oldest first, as NDJSON (one stored AuditEvent per line, as stored; the
// Bulk Data format's media type application/fhir+ndjson), streamed as the client reads, never
// held whole in memory (the audit trail service reads it page by page, each page in its own
// short transaction).
//
//   GET|POST [base]/AuditEvent/$export-ndjson?_since=<instant>&_until=<instant>
//
// Auditors: a tenant-wide AuditEvent search scope (e.g. system/AuditEvent.rs), checked with
// every other scope in access/scope-check.ts; administrators. The export itself is audited like
// any operation. One entry of the operation registry (registry.ts).
import { badRequest, notSupported } from '../../core/errors.js';
import type { FhirResponse } from '../../core/types.js';
import { instantParameter } from './audit-range.js';
import type { OperationCall, OperationEntry } from './registry.js';

export const NDJSON = 'application/fhir+ndjson';

async function exportNdjson(call: OperationCall): Promise<FhirResponse> {
  const { req, deps } = call;
  const since = instantParameter(req, '_since');
  const until = instantParameter(req, '_until');
  if (since && until && until.getTime() <= since.getTime()) throw badRequest('_until must be later than _since', ['_until']);
  // A bundle entry's body must be one value (bundle/responses.ts): a stream cannot be one.
  if (req.bundleEntry) throw badRequest('$export-ndjson cannot be an entry of a batch or transaction', [`Bundle.entry[${req.bundleEntry.index}].request.url`]);
  if (!deps.auditTrail) throw notSupported('$export-ndjson needs the audit trail, which this deployment does not keep', 501);
  const chunks = deps.auditTrail.exportNdjson(req.tenantId, { since, until });
  return { status: 200, headers: {}, body: { kind: 'stream', contentType: NDJSON, chunks } };
}

export const auditExportOperation: OperationEntry = {
  name: 'export-ndjson',
  levels: ['type'],
  types: ['AuditEvent'],
  readOnly: true,
  handler: exportNdjson,
  definition: {
    resourceType: 'OperationDefinition',
    id: 'hearth-auditevent-export-ndjson',
    name: 'AuditEventExportNdjson',
    title: 'Export the audit trail as NDJSON',
    status: 'active',
    kind: 'operation',
    affectsState: false,
    code: 'export-ndjson',
    description:
      'Streams the tenant\'s AuditEvents recorded at or after _since and before _until, oldest first (by recorded, then id), as ' +
      'application/fhir+ndjson: one AuditEvent per line exactly as stored. The response is sent as it is read (chunked); a response ' +
      'cut short by a server failure ends without the final chunk. Needs a tenant-wide AuditEvent search scope (system/AuditEvent.rs) ' +
      'or an administrator.',
    system: false,
    type: true,
    instance: false,
    resource: ['AuditEvent'],
    parameter: [
      { name: '_since', use: 'in', min: 0, max: '1', type: 'instant', documentation: 'Events recorded at or after this instant (inclusive).' },
      { name: '_until', use: 'in', min: 0, max: '1', type: 'instant', documentation: 'Events recorded before this instant (exclusive).' },
    ],
  },
};
