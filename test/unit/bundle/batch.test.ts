// src/fhir/bundle/batch.ts (http.html#transaction, "batch"): an entry's failure, whatever it is,
// is that entry's response; the other entries still run and answer.
import assert from 'node:assert/strict';
import { processBatch } from '../../../src/fhir/bundle/batch.js';
import type { BundleEntryRequest } from '../../../src/fhir/bundle/entries.js';
import { badRequest } from '../../../src/core/errors.js';
import { ANONYMOUS_ACCESS, type FhirRequest, type FhirResponse } from '../../../src/core/types.js';

const request = (path: string[]): FhirRequest => ({
  method: 'GET',
  tenantId: 'default',
  baseUrl: 'http://h/fhir',
  path,
  query: new URLSearchParams(),
  prefer: {},
  access: ANONYMOUS_ACCESS,
  requestId: 'req-1',
});

const entry = (index: number, path: string[]): BundleEntryRequest => ({
  index,
  method: 'GET',
  url: path.join('/'),
  path,
  query: new URLSearchParams(),
  request: request(path),
});

describe('batch', () => {
  it('an unexpected error in one entry is its 500 (no internal detail) and handed up to be logged; the others answer', async () => {
    const bug = new Error('relation "secret_table" does not exist');
    const handle = async (req: FhirRequest): Promise<FhirResponse> => {
      if (req.path[1] === 'bug') throw bug;
      if (req.path[1] === 'bad') throw badRequest('bad entry');
      return { status: 200, headers: {}, body: { kind: 'json', value: { resourceType: 'Patient', id: req.path[1] } } };
    };
    const entries = [entry(0, ['Patient', 'a']), entry(1, ['Patient', 'bug']), entry(2, ['Patient', 'bad']), entry(3, ['Patient', 'b'])];
    const response = await processBatch(request([]), entries, handle, async () => assert.fail('nothing is refused before handle'));
    assert.equal(response.status, 200);
    const bundle = response.body?.kind === 'json' ? (response.body.value as { type: string; entry: any[] }) : assert.fail('json body');
    assert.equal(bundle.type, 'batch-response');
    assert.deepEqual(bundle.entry.map((e) => e.response.status), ['200 OK', '500 Internal Server Error', '400 Bad Request', '200 OK']);
    assert.deepEqual(bundle.entry[1].response.outcome.issue, [{ severity: 'error', code: 'exception', diagnostics: 'Internal error (request req-1)' }]);
    assert.doesNotMatch(JSON.stringify(bundle), /secret_table/);
    assert.equal(bundle.entry[2].response.outcome.issue[0].diagnostics, 'bad entry');
    assert.deepEqual(response.unexpectedErrors, [bug]);
  });

  it('unexpected errors of a nested batch are handed up too', async () => {
    const inner = new Error('inner bug');
    const handle = async (): Promise<FhirResponse> => ({ status: 200, headers: {}, unexpectedErrors: [inner] });
    const response = await processBatch(request([]), [entry(0, [])], handle, async () => assert.fail('nothing is refused before handle'));
    assert.deepEqual(response.unexpectedErrors, [inner]);
  });

  it('an entry that refers to another entry is refused before handle() and recorded as refused', async () => {
    const refused: { path: string[]; status: number }[] = [];
    const linked = entry(1, ['Observation']);
    linked.fullUrl = undefined;
    linked.resource = { resourceType: 'Observation', subject: { reference: 'urn:uuid:p1' } };
    const first = { ...entry(0, ['Patient']), fullUrl: 'urn:uuid:p1', resource: { resourceType: 'Patient' } };
    const handled: string[][] = [];
    const handle = async (req: FhirRequest): Promise<FhirResponse> => (handled.push(req.path), { status: 201, headers: {} });
    const response = await processBatch(request([]), [first, linked], handle, async (req, error) => void refused.push({ path: req.path, status: (error as { status: number }).status }));
    const bundle = response.body?.kind === 'json' ? (response.body.value as { entry: any[] }) : assert.fail('json body');
    assert.deepEqual(bundle.entry.map((e) => e.response.status), ['201 Created', '400 Bad Request']);
    assert.deepEqual(handled, [['Patient']]);
    assert.deepEqual(refused, [{ path: ['Observation'], status: 400 }]);
  });
});
