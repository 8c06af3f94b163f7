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
import { randomUUID } from 'node:crypto';
import type { SearchParameter } from 'fhir/r4.js';
import { baseTypes, isActive } from '../../search/custom-params.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import type { ReindexJob } from '../../storage/reindex-job-store.js';
import { RESOURCE_TYPES } from '../../core/resource-types.js';
import { badRequest, forbidden, notFound } from '../../core/errors.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import type { Interaction } from './context.js';

const requireAdmin = (req: FhirRequest) => {
  if (!req.access.isAdmin) throw forbidden('$reindex is reserved for administrators');
};

/** POST ...$reindex: queues a job over `scope`'s types. */
export function reindexInteraction(req: FhirRequest, scope: { type?: string; searchParameterId?: string }): Interaction {
  return {
    target: { interaction: 'operation', resourceType: scope.type, id: scope.searchParameterId, operation: 'reindex' },
    readOnly: false,
    async run(store) {
      requireAdmin(req);
      const types = scope.searchParameterId ? await parameterTypes(store, scope.searchParameterId) : scope.type ? [scope.type] : [...RESOURCE_TYPES];
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
export function reindexStatusInteraction(req: FhirRequest, jobId: string): Interaction {
  const cancel = req.method === 'DELETE';
  return {
    target: { interaction: 'operation', operation: 'reindex-status', id: jobId },
    readOnly: !cancel,
    async run(store) {
      requireAdmin(req);
      if (cancel) await store.reindexJobs.cancel(jobId);
      const job = await store.reindexJobs.find(jobId);
      if (!job) throw notFound(`No reindex job ${jobId}`);
      return jobResponse(job);
    },
  };
}

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
