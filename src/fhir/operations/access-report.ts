// A patient's access report (issue 11 "Auditor access"): who accessed the record, as the
// AuditEvents about the patient, newest first.
//
//   GET [base]/Patient/{id}/$access-report?_since=<instant>&_count=<n>
//
// It is the search `AuditEvent?patient=Patient/{id}&date=ge<_since>&_sort=-date` run by the
// search engine over the audit trail (storage/table-names.ts), with the caller's data
// constraint, so it pages exactly like a search (keyset on (recorded, id); the next link keeps
// the operation's URL). Authorization: an AuditEvent search scope (access/scope-check.ts), e.g.
// system/AuditEvent.rs. Read-only (affectsState false): GET or POST (query string parameters).
// One entry of the operation registry (registry.ts, docs/adr/0008-operation-registry.md).
import { badRequest } from '../../core/errors.js';
import type { FhirRequest, FhirResponse } from '../../core/types.js';
import type { SearchPage } from '../../search/engine.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { requestAccess } from '../access/read-constraint.js';
import { checkSearchReach } from '../access/read-constraint-check.js';
import { instantParameter } from './audit-range.js';
import type { OperationCall, OperationEntry } from './registry.js';

/** The parameters the report takes (plus the response-format ones every interaction takes). */
const ACCEPTED = new Set(['_since', '_count', '_page', '_format', '_pretty']);

/** The search the report runs for `patientId`. */
function reportSearch(req: FhirRequest, patientId: string): URLSearchParams {
  for (const name of new Set(req.query.keys())) {
    if (!ACCEPTED.has(name)) throw badRequest(`$access-report does not take the parameter ${name} (it takes _since, _count and _page)`, [name]);
  }
  const params = new URLSearchParams({ patient: `Patient/${patientId}`, _sort: '-date' });
  const since = instantParameter(req, '_since');
  // `recorded` has millisecond precision (audit-store canonicalInstant): ge the instant's millisecond.
  if (since) params.set('date', `ge${since.toISOString()}`);
  for (const name of ['_count', '_page']) {
    const value = req.query.get(name);
    if (value !== null) params.set(name, value);
  }
  return params;
}

function reportBundle(req: FhirRequest, patientId: string, page: SearchPage): string {
  const url = (pageToken?: string) => {
    const params = new URLSearchParams();
    for (const name of ['_since', '_count']) {
      const value = req.query.get(name);
      if (value !== null) params.set(name, value);
    }
    if (pageToken !== undefined) params.set('_page', pageToken);
    else if (req.query.get('_page') !== null) params.set('_page', req.query.get('_page') as string);
    const query = params.toString();
    return `${req.baseUrl}/Patient/${patientId}/$access-report${query ? `?${query}` : ''}`;
  };
  const link = [{ relation: 'self', url: url() }];
  if (page.next) link.push({ relation: 'next', url: url(page.next) });
  if (page.previous) link.push({ relation: 'previous', url: url(page.previous) });
  const head = JSON.stringify({ resourceType: 'Bundle', type: 'searchset', link });
  // Stored JSON text as is (no parse and re-serialize of each event).
  const entries = page.matches.map(
    (m) => `{"fullUrl":${JSON.stringify(`${req.baseUrl}/AuditEvent/${m.id}`)},"resource":${m.content as string},"search":{"mode":"match"}}`,
  );
  return entries.length === 0 ? head : `${head.slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

async function accessReport(call: OperationCall, store: ResourceStore): Promise<FhirResponse> {
  const { req, deps } = call;
  const patientId = call.id as string; // instance level only; the router checked the id
  const params = reportSearch(req, patientId);
  const { searching } = await deps.searchParams.load(store);
  const query = deps.search.parse('AuditEvent', params, false, searching);
  const { scope } = await requestAccess(store, req.access);
  checkSearchReach(req.access, scope, query, searching);
  const page = await deps.search.run(store, query, searching, scope);
  return { status: 200, headers: {}, body: { kind: 'raw', text: reportBundle(req, patientId, page) } };
}

export const accessReportOperation: OperationEntry = {
  name: 'access-report',
  levels: ['instance'],
  types: ['Patient'],
  readOnly: true,
  handler: accessReport,
  definition: {
    resourceType: 'OperationDefinition',
    id: 'hearth-access-report',
    name: 'AccessReport',
    title: "A patient's access report: the AuditEvents about the patient, newest first",
    status: 'active',
    kind: 'operation',
    affectsState: false,
    code: 'access-report',
    description:
      'Lists who accessed the patient\'s record: a searchset Bundle of the AuditEvents whose patient is this Patient (the search ' +
      'AuditEvent?patient=Patient/{id}&date=ge{_since}&_sort=-date), newest first, paged by keyset (follow the next link). Needs an ' +
      'AuditEvent search scope (e.g. system/AuditEvent.rs). Read-only.',
    resource: ['Patient'],
    system: false,
    type: false,
    instance: true,
    parameter: [
      { name: '_since', use: 'in', min: 0, max: '1', type: 'instant', documentation: 'Only events recorded at or after this instant.' },
      { name: '_count', use: 'in', min: 0, max: '1', type: 'integer', documentation: 'Events per page (the server caps it).' },
      { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'A searchset Bundle of AuditEvents, newest first.' },
    ],
  },
};
