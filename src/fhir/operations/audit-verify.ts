// $verify on AuditEvent (issue 11 "Integrity"; docs/adr/0013-audit-trail-storage.md): checks the
// tenant's audit trail as `hearth audit verify --tenant` does — the seal chain, every row's hash,
// every sealed batch's row count and Merkle root — and answers a Parameters resource: `result`
// true with the counts checked when intact, false with the first break (seal seq and/or record
// id, and why) when not. Administrators only.
//
//   GET|POST [base]/AuditEvent/$verify[?_since=<instant>]
//
// The check runs when the HTTP layer reads the body, after the operation's own tenant
// transaction has ended (the body is a one-chunk stream): verify opens its own READ ONLY
// transaction, which the embedded mode (PGlite, a pool of ONE connection) could not give while
// the operation's is open, and a verify of millions of rows does not hold two connections. The
// price: a verify that fails unexpectedly cuts the 200 response short (send.ts) instead of
// answering 500. Not in a batch or transaction (400): a bundle entry's body must be one value.
import { badRequest, forbidden, notSupported } from '../../core/errors.js';
import type { FhirResponse, JsonObject } from '../../core/types.js';
import type { AuditTrailService, AuditVerifyReport } from '../audit-trail.js';
import { instantParameter } from './audit-range.js';
import type { OperationCall, OperationEntry } from './registry.js';

async function verify(call: OperationCall): Promise<FhirResponse> {
  const { req, deps } = call;
  if (!req.access.isAdmin) throw forbidden('$verify is reserved for administrators');
  const since = instantParameter(req, '_since');
  if (req.bundleEntry) throw badRequest('$verify cannot be an entry of a batch or transaction', [`Bundle.entry[${req.bundleEntry.index}].request.url`]);
  if (!deps.auditTrail) throw notSupported('$verify needs the audit trail, which this deployment does not keep', 501);
  const chunks = verifiedParameters(deps.auditTrail, req.tenantId, since);
  return { status: 200, headers: {}, body: { kind: 'stream', contentType: 'application/fhir+json', chunks } };
}

/** The Parameters answer as one chunk, computed when first pulled. */
async function* verifiedParameters(trail: AuditTrailService, tenantId: string, since: Date | undefined): AsyncGenerator<string> {
  const report = await trail.verify(tenantId, { since });
  yield JSON.stringify({ resourceType: 'Parameters', parameter: parametersOf(report) });
}

function parametersOf(report: AuditVerifyReport): JsonObject[] {
  if (report.intact) {
    return [
      { name: 'result', valueBoolean: true },
      { name: 'sealed', valueInteger: report.sealed },
      { name: 'pending', valueInteger: report.pending },
      { name: 'seals', valueInteger: report.seals },
      { name: 'archivedSeals', valueInteger: report.archivedSeals },
    ];
  }
  const { sealSeq, recordId, reason } = report.firstBreak;
  const part: JsonObject[] = [
    ...(sealSeq === undefined ? [] : [{ name: 'sealSeq', valueInteger: sealSeq }]),
    ...(recordId === undefined ? [] : [{ name: 'recordId', valueString: recordId }]),
    { name: 'reason', valueString: reason },
  ];
  return [{ name: 'result', valueBoolean: false }, { name: 'firstBreak', part }];
}

const count = (name: string, documentation: string) => ({ name, use: 'out' as const, min: 0, max: '1', type: 'integer', documentation });

export const auditVerifyOperation: OperationEntry = {
  name: 'verify',
  levels: ['type'],
  types: ['AuditEvent'],
  readOnly: true,
  handler: verify,
  definition: {
    resourceType: 'OperationDefinition',
    id: 'hearth-auditevent-verify',
    name: 'AuditEventVerify',
    title: 'Verify the integrity of the audit trail',
    status: 'active',
    kind: 'operation',
    affectsState: false,
    code: 'verify',
    description:
      'Checks the tenant\'s audit trail: the chain of seals, each event\'s hash, and each sealed batch\'s event count and Merkle root ' +
      '(docs/adr/0013-audit-trail-storage.md). Answers result true with the counts checked, or result false with the first break ' +
      'found. With _since, only the events of seals ending at or after it are checked (the seal chain always whole). Administrators only.',
    system: false,
    type: true,
    instance: false,
    resource: ['AuditEvent'],
    parameter: [
      { name: '_since', use: 'in', min: 0, max: '1', type: 'instant', documentation: 'Check the events of seals ending at or after this instant.' },
      { name: 'result', use: 'out', min: 1, max: '1', type: 'boolean', documentation: 'True when the trail is intact.' },
      count('sealed', 'Events checked inside seals (when intact).'),
      count('pending', 'Events not sealed yet, their hashes checked (when intact).'),
      count('seals', 'Seals whose events were checked (when intact).'),
      count('archivedSeals', 'Seals of archived months, covered by their archive manifests (when intact).'),
      {
        name: 'firstBreak',
        use: 'out',
        min: 0,
        max: '1',
        documentation: 'Where the trail breaks first (when not intact).',
        part: [
          { name: 'sealSeq', use: 'out', min: 0, max: '1', type: 'integer', documentation: 'The seal where the break was found.' },
          { name: 'recordId', use: 'out', min: 0, max: '1', type: 'string', documentation: 'The AuditEvent where the break was found.' },
          { name: 'reason', use: 'out', min: 1, max: '1', type: 'string', documentation: 'What is wrong.' },
        ],
      },
    ],
  },
};
