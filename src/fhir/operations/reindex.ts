// $reindex (docs/search.md "Custom search parameters"): queue a background job that
// recomputes the search index of stored resources, so custom SearchParameters become
// searchable for the rows stored before them. Follows the FHIR asynchronous request pattern
// (R4 async.html): 202 Accepted with Content-Location naming a status URL; polling that URL
// answers 202 with X-Progress while the job runs and 200 once it has ended, each time with a
// Parameters resource describing the job. DELETE on the status URL cancels it.
//
//   POST [base]/SearchParameter/{id}/$reindex   the parameter's base types
//   POST [base]/{Type}/$reindex                 one type, every active parameter
//   POST [base]/$reindex                        every type
//   GET|DELETE [base]/_reindex/{job}
// One entry of the operation registry (registry.ts), with its OperationDefinition.
import { randomUUID } from 'node:crypto';
import type { SearchParameter } from 'fhir/r4.js';
import { baseTypes, isActive } from '../../search/custom-params.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import type { ReindexJob } from '../../storage/reindex-job-store.js';
import { RESOURCE_TYPES } from '../../core/resource-types.js';
import { reindexRefusal } from '../../storage/table-names.js';
import { badRequest, forbidden, notFound } from '../../core/errors.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import type { OperationCall, OperationEntry } from './registry.js';

const requireAdmin = (req: FhirRequest) => {
  if (!req.access.isAdmin) throw forbidden('$reindex is reserved for administrators');
};

/** POST ...$reindex: queues a job over the types the invocation names. */
async function queueReindex(call: OperationCall, store: ResourceStore): Promise<FhirResponse> {
  const { req } = call;
  requireAdmin(req);
  // An append-only type (AuditEvent) is indexed once when recorded and never rewritten
  // (storage/table-names.ts reindexRefusal): named alone it is refused, else left out.
  const refusal = call.level === 'type' && call.type ? reindexRefusal(call.type) : undefined;
  if (refusal) throw badRequest(`${refusal}; there is nothing to reindex`, [call.type as string]);
  const named = call.level === 'instance' ? await parameterTypes(store, call.id!) : call.type ? [call.type] : [...RESOURCE_TYPES];
  const types = named.filter((type) => !reindexRefusal(type));
  const id = randomUUID();
  await store.reindexJobs.create(id, types);
  const statusUrl = `${req.baseUrl}/_reindex/${id}`;
  return {
    status: 202,
    headers: { 'Content-Location': statusUrl },
    body: {
      kind: 'json',
      value: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'information', code: 'informational', diagnostics: `Reindex job ${id} queued for ${types.length === 1 ? types[0] : `${types.length} resource types`}; poll ${statusUrl}` }],
      },
    },
  };
}

/** The base types of an active SearchParameter of this tenant. */
async function parameterTypes(store: ResourceStore, id: string): Promise<string[]> {
  const current = await store.readCurrent('SearchParameter', id);
  if (!current || current.deleted || current.content === null) throw notFound(`SearchParameter/${id} is not known`);
  const sp = JSON.parse(current.content) as SearchParameter;
  if (!isActive(sp)) throw badRequest(`SearchParameter/${id} has status '${sp.status}'; only active parameters are indexed`, ['SearchParameter.status']);
  return baseTypes(sp);
}

/** GET (status) or DELETE (cancel) on a job's status URL. */
async function jobStatus(req: FhirRequest, jobId: string, store: ResourceStore): Promise<FhirResponse> {
  requireAdmin(req);
  if (req.method === 'DELETE') await store.reindexJobs.cancel(jobId);
  const job = await store.reindexJobs.find(jobId);
  if (!job) throw notFound(`No reindex job ${jobId}`);
  return jobResponse(job);
}

export const reindexOperation: OperationEntry = {
  name: 'reindex',
  levels: ['system', 'type', 'instance'],
  instanceTypes: ['SearchParameter'],
  readOnly: false,
  handler: queueReindex,
  asyncStatus: { segment: '_reindex', handler: (req, _deps, jobId, store) => jobStatus(req, jobId, store) },
  definition: {
    resourceType: 'OperationDefinition',
    id: 'hearth-reindex',
    name: 'Reindex',
    title: 'Recompute the search index of stored resources',
    status: 'active',
    kind: 'operation',
    affectsState: true,
    code: 'reindex',
    description:
      'Queues a background job that recomputes the search index of the tenant\'s stored resources, so custom SearchParameters become ' +
      'searchable for resources stored before them. At system level every type; at type level that type; on a SearchParameter instance ' +
      'the base types of that (active) parameter. Asynchronous (async.html): answers 202 with Content-Location naming [base]/_reindex/{job}, ' +
      'which answers a Parameters resource describing the job (202 with X-Progress while it runs, 200 once ended); DELETE on it cancels. ' +
      'Administrators only.',
    system: true,
    type: true,
    instance: true,
    parameter: [
      { name: 'return', use: 'out', min: 0, max: '1', type: 'OperationOutcome', documentation: 'The queued job and its status URL.' },
    ],
  },
};

function jobResponse(job: ReindexJob): FhirResponse {
  const { processed, total } = job;
  const percent = total ? Math.min(100, Math.floor((processed / total) * 100)) : job.status === 'completed' ? 100 : 0;
  const parameter: JsonObject[] = [
    { name: 'job', valueString: job.id },
    { name: 'status', valueCode: job.status },
    ...job.resourceTypes.map((t) => ({ name: 'resourceType', valueCode: t })),
    { name: 'processed', valueInteger: processed },
    ...(total === undefined ? [] : [{ name: 'total', valueInteger: total }]),
    { name: 'percentComplete', valueInteger: percent },
    ...job.searchParams.map((p) => ({ name: 'searchParameter', valueReference: { reference: `SearchParameter/${p.id}/_history/${p.versionId}` } })),
    ...(job.error ? [{ name: 'error', valueString: job.error }] : []),
    { name: 'created', valueInstant: job.createdAt.toISOString() },
    ...(job.startedAt ? [{ name: 'started', valueInstant: job.startedAt.toISOString() }] : []),
    ...(job.finishedAt ? [{ name: 'finished', valueInstant: job.finishedAt.toISOString() }] : []),
  ];
  const running = job.status === 'queued' || job.status === 'running';
  const headers: Record<string, string> = running ? { 'X-Progress': `${percent}% (${processed}${total === undefined ? '' : ` of ${total}`} resources)` } : {};
  return { status: running ? 202 : 200, headers, body: { kind: 'json', value: { resourceType: 'Parameters', parameter } } };
}
