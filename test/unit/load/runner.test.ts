// Unit tests for src/load/runner.ts against a stand-in for FhirService.handle: concurrency,
// the ledger (skip, resume), stopping or continuing at a failure, and failures placed by file and
// entry or line.
import assert from 'node:assert/strict';
import { FhirError } from '../../../src/core/errors.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../../src/core/types.js';
import { MemoryLedger } from '../../../src/load/ledger.js';
import type { LoadProgress } from '../../../src/load/progress.js';
import { runLoad, type LoadOptions } from '../../../src/load/runner.js';
import { expandSources, type SourceFile } from '../../../src/load/sources.js';
import { ndjson, tempTree, type TempTree } from './fixtures.js';

const patient = (id: string) => ({ resourceType: 'Patient', id });
const collection = (...ids: string[]) => JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: ids.map((id) => ({ resource: patient(id) })) });

/** Commits every entry, except that an entry whose resource id contains `bad` fails the Bundle (`slow-bad` only after another entry was stored). */
class FakeService {
  inFlight = 0;
  maxInFlight = 0;
  stored: string[] = [];
  requests: FhirRequest[] = [];
  private markStored: () => void = () => undefined;
  private readonly someoneElseStored = new Promise<void>((resolve) => (this.markStored = resolve));

  handle = async (req: FhirRequest): Promise<FhirResponse> => {
    this.requests.push(req);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const bundle = req.body as JsonObject;
      const entries = bundle.entry as { resource: { id?: string } }[];
      const ids = entries.map((e) => e.resource.id ?? '?');
      // `slow-bad` fails only once another file has committed a chunk, however slow the machine.
      if (ids.some((id) => id.startsWith('slow-bad'))) await this.someoneElseStored;
      await new Promise((r) => setTimeout(r, 2));
      if (bundle.type === 'batch') return this.batch(ids);
      const bad = ids.findIndex((id) => id.includes('bad'));
      if (bad >= 0) {
        throw new FhirError(400, { code: 'value', diagnostics: `Bundle.entry[${bad}]: Value 'robot' is not allowed`, expression: [`Bundle.entry[${bad}]`, `Bundle.entry[${bad}].resource.gender`] });
      }
      this.stored.push(...ids);
      this.markStored();
      return { status: 200, headers: {}, body: { kind: 'json', value: { resourceType: 'Bundle', type: 'transaction-response', entry: [] } } };
    } finally {
      this.inFlight--;
    }
  };

  private batch(ids: string[]): FhirResponse {
    const entry = ids.map((id) => {
      if (!id.includes('bad')) {
        this.stored.push(id);
        return { response: { status: '201 Created' } };
      }
      return { response: { status: '422 Unprocessable Entity', outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'rule failed', expression: ['Patient.name'] }] } } };
    });
    return { status: 200, headers: {}, body: { kind: 'json', value: { resourceType: 'Bundle', type: 'batch-response', entry } } };
  }
}

describe('load runner', () => {
  let tree: TempTree;
  let files: SourceFile[];
  const pick = (...names: string[]) => names.map((n) => files.find((f) => f.name === n)!);

  before(async () => {
    tree = await tempTree({
      '1-bundle.json': collection('b1', 'b2'),
      '2-lines.ndjson': ndjson(...['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'].map(patient)),
      '3-bundle.json.gz': collection('c1'),
      'bad-bundle.json': collection('ok', 'bad-1'),
      'bad-lines.ndjson': ndjson(...['m1', 'm2', 'm3', 'bad-4', 'm5'].map(patient)),
      'batch.json': JSON.stringify({
        resourceType: 'Bundle', type: 'batch',
        entry: ['x1', 'bad-2', 'x3'].map((id) => ({ resource: patient(id), request: { method: 'PUT', url: `Patient/${id}` } })),
      }),
      'unparsable.ndjson': `${ndjson(patient('u1'))}{nope\n`,
      'slow-bad.json': collection('slow-bad-1'),
      'many-lines.ndjson': ndjson(...Array.from({ length: 60 }, (_, i) => patient(`l${i}`))),
    });
    files = await expandSources([tree.dir]);
  });
  after(() => tree.remove());

  const options = (service: FakeService, ledger: MemoryLedger, extra: Partial<LoadOptions> = {}): LoadOptions => ({
    tenantId: 't1', baseUrl: 'http://localhost/t/t1/fhir', handle: service.handle, ledger, chunkSize: 2, ...extra,
  });

  it('loads every file through POST [base] with Prefer return=minimal, at most `concurrency` at once', async () => {
    const service = new FakeService();
    const ledger = new MemoryLedger();
    const progress: LoadProgress[] = [];
    const summary = await runLoad(pick('1-bundle.json', '2-lines.ndjson', '3-bundle.json.gz'), options(service, ledger, { concurrency: 3, onProgress: (p) => progress.push(p) }));
    assert.equal(summary.failures.length, 0);
    assert.deepEqual(summary.files.map((f) => [f.name, f.status, f.resources]), [['1-bundle.json', 'loaded', 2], ['2-lines.ndjson', 'loaded', 7], ['3-bundle.json.gz', 'loaded', 1]]);
    assert.equal(summary.resources, 10);
    assert.deepEqual([...service.stored].sort(), ['b1', 'b2', 'c1', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7']);
    assert.equal(service.requests.length, 6); // 1 + 4 chunks + 1
    assert.ok(service.maxInFlight > 1 && service.maxInFlight <= 3, `max in flight ${service.maxInFlight}`);
    const req = service.requests[0];
    assert.deepEqual([req.method, req.path, req.tenantId, req.baseUrl, req.prefer.return, req.bodyKind], ['POST', [], 't1', 'http://localhost/t/t1/fhir', 'minimal', 'resource']);
    const last = progress[progress.length - 1];
    assert.equal(last.bytesDone, last.bytesTotal);
    assert.equal(last.filesLoaded, 3);
    assert.equal(ledger.entries.size, 3);
    assert.ok([...ledger.entries.values()].every((e) => e.completed));
  });

  it('skips files the ledger has, per tenant', async () => {
    const ledger = new MemoryLedger();
    await runLoad(pick('1-bundle.json', '3-bundle.json.gz'), options(new FakeService(), ledger));
    const again = new FakeService();
    const summary = await runLoad(pick('1-bundle.json', '2-lines.ndjson', '3-bundle.json.gz'), options(again, ledger));
    assert.deepEqual(summary.files.map((f) => f.status), ['skipped', 'loaded', 'skipped']);
    assert.equal(summary.filesSkipped, 2);
    assert.deepEqual(again.stored.sort(), ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7']);
    const otherTenant = await runLoad(pick('1-bundle.json'), { ...options(new FakeService(), ledger), tenantId: 't2' });
    assert.equal(otherTenant.files[0].status, 'loaded');
  });

  it('stops at the first failure by default, naming the file, entry and element; later files are not attempted', async () => {
    const service = new FakeService();
    const ledger = new MemoryLedger();
    const summary = await runLoad(pick('bad-bundle.json', '1-bundle.json', '3-bundle.json.gz'), options(service, ledger, { concurrency: 1 }));
    assert.deepEqual(summary.files.map((f) => [f.name, f.status]), [['bad-bundle.json', 'failed']]);
    assert.equal(summary.filesNotAttempted, 2);
    assert.equal(summary.failures[0].message, "bad-bundle.json entry 1 (Patient): Patient.gender: Value 'robot' is not allowed");
    assert.deepEqual(summary.failures[0].place, { file: 'bad-bundle.json', entry: 1, resourceType: 'Patient' });
    assert.equal(ledger.entries.size, 0);
  });

  it('names the NDJSON line, and resumes after the committed prefix on the next run', async () => {
    const ledger = new MemoryLedger();
    const first = await runLoad(pick('bad-lines.ndjson'), options(new FakeService(), ledger, { concurrency: 1 }));
    assert.equal(first.failures[0].message, "bad-lines.ndjson line 4 (Patient): Patient.gender: Value 'robot' is not allowed");
    assert.deepEqual([...ledger.entries.values()], [{ completed: false, linesDone: 2, resources: 2 }]);
    const second = new FakeService();
    const again = await runLoad(pick('bad-lines.ndjson'), options(second, ledger, { concurrency: 1 }));
    assert.equal(again.files[0].resumedAfterLine, 2);
    assert.deepEqual(second.requests.map((r) => ((r.body as JsonObject).entry as { resource: { id: string } }[]).map((e) => e.resource.id)), [['m3', 'bad-4']]);
  });

  it('a file still being read when another fails is interrupted: not recorded as loaded, its prefix kept', async () => {
    const ledger = new MemoryLedger();
    const summary = await runLoad(pick('slow-bad.json', 'many-lines.ndjson'), options(new FakeService(), ledger, { concurrency: 2, chunkSize: 1 }));
    assert.deepEqual(summary.files.map((f) => [f.name, f.status]), [['slow-bad.json', 'failed'], ['many-lines.ndjson', 'interrupted']]);
    assert.equal(summary.filesNotAttempted, 1);
    const [entry] = [...ledger.entries.values()];
    assert.equal(entry.completed, false);
    assert.ok(entry.linesDone > 0 && entry.linesDone < 60, `lines done ${entry.linesDone}`);
    assert.equal(entry.resources, summary.files[1].resources);
    const rest = await runLoad(pick('many-lines.ndjson'), options(new FakeService(), ledger, { chunkSize: 7 }));
    assert.equal(rest.files[0].status, 'loaded');
    assert.equal(rest.files[0].resumedAfterLine, entry.linesDone);
    assert.equal(rest.resources, 60 - entry.linesDone);
  });

  it('with continueOnError, abandons a failed file and loads the rest', async () => {
    const service = new FakeService();
    const summary = await runLoad(pick('1-bundle.json', 'bad-bundle.json', 'unparsable.ndjson', '3-bundle.json.gz'), options(service, new MemoryLedger(), { continueOnError: true }));
    assert.deepEqual(summary.files.map((f) => f.status), ['loaded', 'failed', 'failed', 'loaded']);
    assert.equal(summary.filesFailed, 2);
    assert.match(summary.failures.find((f) => f.place.file === 'unparsable.ndjson')!.message, /^unparsable\.ndjson line 2: Invalid JSON at column 2/);
  });

  it('fails a batch at its first failed entry, counting the entries that were stored', async () => {
    const service = new FakeService();
    const summary = await runLoad(pick('batch.json'), options(service, new MemoryLedger()));
    assert.equal(summary.failures[0].message, 'batch.json entry 1 (Patient): 422: Patient.name: rule failed');
    assert.equal(summary.resources, 2);
    assert.deepEqual(service.stored, ['x1', 'x3']);
  });

  it('reports the ledger failing as the file failing', async () => {
    const ledger = new MemoryLedger();
    ledger.complete = async () => {
      throw new Error('connection lost');
    };
    const summary = await runLoad(pick('1-bundle.json'), options(new FakeService(), ledger));
    assert.equal(summary.failures[0].message, '1-bundle.json: connection lost');
  });
});
