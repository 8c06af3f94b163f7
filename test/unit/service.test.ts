// FhirService (src/fhir/service.ts) over the in-memory repository: the REST interactions end to
// end below HTTP (FHIR R4 http.html: create, read, vread, update, delete, history, If-Match),
// with no database.
import assert from 'node:assert/strict';
import { FhirError } from '../../src/core/errors.js';
import { ANONYMOUS_ACCESS, type FhirRequest, type FhirResponse, type HttpMethod } from '../../src/core/types.js';
import { FhirService } from '../../src/fhir/service.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import { memoryService } from '../support/memory-service.js';
import { bodyValue } from '../../src/core/response-body.js';

const registry = createSearchRegistry();

const newService = (): FhirService => memoryService(registry);

function request(method: HttpMethod, path: string, extra: Partial<FhirRequest> = {}): FhirRequest {
  return {
    method,
    tenantId: 'default',
    baseUrl: 'http://h/fhir',
    path: path.split('/').filter(Boolean),
    query: new URLSearchParams(),
    prefer: {},
    access: ANONYMOUS_ACCESS,
    requestId: 'r',
    ...extra,
  };
}

const withBody = (resource: object): Partial<FhirRequest> => ({ body: resource, bodyKind: 'resource' });

function json(response: FhirResponse): Record<string, unknown> {
  const body = response.body;
  assert.ok(body, `status ${response.status} has no body`);
  return bodyValue(body) as Record<string, unknown>;
}

async function status(promise: Promise<FhirResponse>): Promise<number> {
  try {
    return (await promise).status;
  } catch (error) {
    if (error instanceof FhirError) return error.status;
    throw error;
  }
}

describe('FhirService over the in-memory repository', () => {
  let service: FhirService;
  let id: string;
  beforeEach(async () => {
    service = newService();
    const created = await service.handle(request('POST', 'Patient', withBody({ resourceType: 'Patient', name: [{ family: 'Chalmers' }] })));
    assert.equal(created.status, 201);
    id = String(json(created).id);
  });

  it('create answers 201 with Location, ETag and the stored resource', async () => {
    const created = await service.handle(request('POST', 'Patient', withBody({ resourceType: 'Patient', active: true })));
    const body = json(created);
    assert.equal(created.status, 201);
    assert.equal(created.headers.ETag, 'W/"1"');
    assert.equal(created.headers.Location, `http://h/fhir/Patient/${body.id}/_history/1`);
    assert.deepEqual(body.meta && (body.meta as { versionId: string }).versionId, '1');
  });

  it('read returns the current version; an unknown id is 404', async () => {
    const read = await service.handle(request('GET', `Patient/${id}`));
    assert.equal(read.status, 200);
    assert.deepEqual(json(read).name, [{ family: 'Chalmers' }]);
    assert.equal(await status(service.handle(request('GET', 'Patient/nobody'))), 404);
  });

  it('update makes version 2; vread still returns version 1', async () => {
    const updated = await service.handle(request('PUT', `Patient/${id}`, withBody({ resourceType: 'Patient', id, name: [{ family: 'Windsor' }] })));
    assert.equal(updated.status, 200);
    assert.equal(updated.headers.ETag, 'W/"2"');
    assert.deepEqual(json(await service.handle(request('GET', `Patient/${id}`))).name, [{ family: 'Windsor' }]);
    const first = await service.handle(request('GET', `Patient/${id}/_history/1`));
    assert.deepEqual(json(first).name, [{ family: 'Chalmers' }]);
    assert.equal(await status(service.handle(request('GET', `Patient/${id}/_history/3`))), 404);
  });

  it('If-Match: the current version writes, a stale one is 412 and changes nothing', async () => {
    const body = withBody({ resourceType: 'Patient', id, active: true });
    assert.equal(await status(service.handle(request('PUT', `Patient/${id}`, { ...body, ifMatch: 'W/"1"' }))), 200);
    assert.equal(await status(service.handle(request('PUT', `Patient/${id}`, { ...body, ifMatch: 'W/"1"' }))), 412);
    assert.equal((await service.handle(request('GET', `Patient/${id}`))).headers.ETag, 'W/"2"');
  });

  it('delete leaves a tombstone: read is 410, history lists every version newest first', async () => {
    await service.handle(request('PUT', `Patient/${id}`, withBody({ resourceType: 'Patient', id, active: false })));
    const deleted = await service.handle(request('DELETE', `Patient/${id}`));
    assert.ok([200, 204].includes(deleted.status), `delete answered ${deleted.status}`);
    assert.equal(await status(service.handle(request('GET', `Patient/${id}`))), 410);
    const history = json(await service.handle(request('GET', `Patient/${id}/_history`)));
    assert.equal(history.type, 'history');
    const entries = history.entry as { request: { method: string }; response: { status: string } }[];
    assert.deepEqual(entries.map((e) => e.request.method), ['DELETE', 'PUT', 'POST']);
  });

  it('concurrent updates all land: a write that lost the race is retried, versions stay gapless', async () => {
    const puts = Array.from({ length: 5 }, (_, i) =>
      service.handle(request('PUT', `Patient/${id}`, withBody({ resourceType: 'Patient', id, name: [{ family: `F${i}` }] }))),
    );
    assert.deepEqual((await Promise.all(puts)).map((r) => r.status), [200, 200, 200, 200, 200]);
    const history = json(await service.handle(request('GET', `Patient/${id}/_history`)));
    assert.deepEqual((history.entry as { resource: { meta: { versionId: string } } }[]).map((e) => e.resource.meta.versionId), ['6', '5', '4', '3', '2', '1']);
  });

  it('an unknown tenant is 404 before anything runs', async () => {
    assert.equal(await status(service.handle(request('GET', `Patient/${id}`, { tenantId: 'elsewhere' }))), 404);
  });

  it('a body whose type does not match the URL is 400 and stores nothing', async () => {
    assert.equal(await status(service.handle(request('PUT', `Patient/${id}`, withBody({ resourceType: 'Observation', id })))), 400);
    assert.equal((await service.handle(request('GET', `Patient/${id}`))).headers.ETag, 'W/"1"');
  });
});
