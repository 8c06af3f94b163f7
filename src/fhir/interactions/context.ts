// What every interaction receives, and the shared pieces of their responses.
import type { SearchParameter } from 'fhir/r4.js';
import type { Config } from '../../core/config.js';
import { assertCustomParamFits } from '../../search/custom-params.js';
import type { SearchEngine } from '../../search/engine.js';
import type { TenantSearchParameters } from '../../search/tenant-params.js';
import type { ResourceStore, StoredVersion, WriteMethod } from '../../storage/resource-store.js';
import { badRequest, issue } from '../../core/errors.js';
import type { AuditTrailService } from '../audit-trail.js';
import type { InteractionHooks, InteractionTarget, ResourceChange } from '../hooks.js';
import { parseElementsParam, parseSummaryParam, applyElements, applySummary } from '../../core/summary.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import type { ResourceValidator } from '../validation/resource-schema.js';
import type { NumberLexemes } from '../json-numbers.js';
import { etag, nextTimestamp, serializeVersion } from '../versioning.js';
import { noteChange } from '../unit-changes.js';
import { isTerminologyType, terminologyWritten } from '../terminology-writes.js';
import { bindingWarnings, checkWriteBindings } from '../binding-checks.js';

export interface InteractionDeps {
  validator: ResourceValidator;
  search: SearchEngine;
  /** The tenant's search registries (R4 plus its custom SearchParameters) and indexer. */
  searchParams: TenantSearchParameters;
  hooks: InteractionHooks;
  /** The audit trail beyond one transaction ($verify, $export-ndjson); absent where no trail is kept (unit tests). */
  auditTrail?: AuditTrailService;
  /** Binding checks are off unless `bindingChecks` says 'on' (the server's configuration does by default). */
  config: Pick<Config, 'defaultPageSize' | 'maxPageSize' | 'validateResources'> & Partial<Pick<Config, 'bindingChecks' | 'bindingUnknownSystems' | 'expandMaxCodes'>>;
}

/** A routed request, ready to run inside a tenant transaction. */
export interface Interaction {
  target: InteractionTarget;
  readOnly: boolean;
  run(store: ResourceStore): Promise<FhirResponse>;
}

export function versionHeaders(req: FhirRequest, v: StoredVersion, withLocation: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    ETag: etag(v.versionId),
    'Last-Modified': v.lastUpdated.toUTCString(),
  };
  if (withLocation) headers.Location = `${req.baseUrl}/${v.resourceType}/${v.id}/_history/${v.versionId}`;
  return headers;
}

/** Applies _summary / _elements to stored text; returns the text untouched when neither is asked. */
export function shapeResource(req: FhirRequest, content: string): FhirResponse['body'] {
  const summary = parseSummaryParam(req.query.get('_summary'));
  const elements = parseElementsParam(req.query.get('_elements'));
  if ((!summary || summary === 'false') && !elements) return { kind: 'raw', text: content };
  let resource = JSON.parse(content) as JsonObject;
  if (summary && summary !== 'false') resource = applySummary(resource, summary as 'true' | 'text' | 'data');
  if (elements) resource = applyElements(resource, elements);
  return { kind: 'json', value: resource };
}

/** The response to a successful write, honouring Prefer: return (http.html#ops). */
export function writeResponse(req: FhirRequest, status: number, v: StoredVersion, message: string): FhirResponse {
  const headers = versionHeaders(req, v, true);
  switch (req.prefer.return) {
    case 'minimal':
      return { status, headers };
    case 'OperationOutcome': {
      const outcome = informational(message);
      (outcome.issue as unknown[]).push(...bindingWarnings(req).map(issue));
      return { status, headers, body: { kind: 'json', value: outcome } };
    }
    default:
      return { status, headers, body: v.content === null ? undefined : { kind: 'raw', text: v.content } };
  }
}

export function informational(message: string): JsonObject {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', diagnostics: message }],
  };
}

/**
 * Stores the next version of a resource (or a tombstone when `resource` is null), recording
 * the method and status of the interaction for history.
 */
export async function storeVersion(
  store: ResourceStore,
  deps: InteractionDeps,
  req: FhirRequest,
  target: { type: string; id: string; method: WriteMethod; status: number; numbers?: NumberLexemes },
  resource: JsonObject | null,
  previous: StoredVersion | undefined,
): Promise<StoredVersion> {
  const { type, id } = target;
  const versionId = (previous?.versionId ?? 0) + 1;
  const lastUpdated = nextTimestamp(previous?.lastUpdated);
  const version: StoredVersion = {
    resourceType: type,
    id,
    versionId,
    lastUpdated,
    deleted: resource === null,
    content: resource === null ? null : serializeVersion(resource, id, versionId, lastUpdated, target.numbers),
  };
  if (resource !== null) await checkWriteBindings(store, deps, req, type, resource);
  const search = await deps.searchParams.load(store);
  if (type === 'SearchParameter' && resource !== null) assertCustomParamFits(resource as unknown as SearchParameter, id, search.custom);
  const searchIndex = resource === null ? null : search.indexer({ ...resource, id });
  await store.writeVersion({ ...version, method: target.method, status: target.status, searchIndex });
  if (type === 'SearchParameter') deps.searchParams.forget(store);
  if (isTerminologyType(type)) await terminologyWritten(store, type, id, resource === null ? null : { ...resource, id });
  const action: ResourceChange['action'] = resource === null ? 'delete' : previous && !previous.deleted ? 'update' : 'create';
  const change: ResourceChange = { action, resourceType: type, id, versionId, lastUpdated, content: version.content ?? previous?.content ?? null, searchIndex };
  noteChange(store, change);
  await deps.hooks.resourceChanged(store, req, change);
  return version;
}

/** The request body as a resource of `type`, structurally valid (R4 JSON Schema). */
export function resourceBody(req: FhirRequest, deps: InteractionDeps, type: string): JsonObject {
  const body = req.body;
  if (req.bodyKind !== 'resource' || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The request body must be a FHIR resource (a JSON object)');
  }
  const resource = body as JsonObject;
  if (resource.resourceType !== type) {
    throw badRequest(
      `resourceType '${String(resource.resourceType)}' in the body does not match '${type}' in the URL`,
      ['resourceType'],
    );
  }
  if (deps.config.validateResources) deps.validator.assertValid(resource);
  return resource;
}
