// The completion hook as a unit of work (issue 11 "Recording"; src/fhir/hooks.ts, service.ts,
// bundle/*; docs/adr/0014-recording-in-the-request-path.md): the sequence of hook calls for REST,
// batch, transaction and `hearth load`, on PostgreSQL, with a recording hook. Each completion
// says whether it ran inside the write's transaction (with the store) or after it.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createFhirService, type FhirComposition } from '../../src/compose.js';
import { loadConfig } from '../../src/core/config.js';
import { ANONYMOUS_ACCESS, type AccessContext } from '../../src/core/types.js';
import type { CompletedInteraction, InteractionHooks } from '../../src/fhir/hooks.js';
import { RepositoryLedger } from '../../src/load/ledger.js';
import { runLoad } from '../../src/load/runner.js';
import { expandSources } from '../../src/load/sources.js';
import type { ResourceStore } from '../../src/storage/resource-store.js';
import { newTenant, testPool } from '../support/database.js';
import { requestsTo, type SendAs } from '../support/service-requests.js';
import { requireServices } from '../support/services.js';

/** One line per hook call: what a reviewer would read to follow a request. */
function recordingHooks(calls: string[]): InteractionHooks {
  const target = (t: { interaction: string; resourceType?: string }) => [t.interaction, t.resourceType].filter(Boolean).join(' ');
  return {
    authorize: async (_request, t) => void calls.push(`authorize ${target(t)}`),
    resourceChanged: async (_store, _request, change) => void calls.push(`changed ${change.action} ${change.resourceType}`),
    interactionCompleted: async (unit: CompletedInteraction, store?: ResourceStore) => {
      const entry = unit.request.bundleEntry ? ` [${unit.request.bundleEntry.bundleType} ${unit.request.bundleEntry.index}]` : '';
      const changes = unit.changes.map((c) => `${c.action} ${c.resourceType} v${c.versionId}`).join(', ');
      calls.push(`completed ${target(unit.target)} ${unit.status}${unit.code ? ` ${unit.code}` : ''}${entry} ${store ? 'inside' : 'after'}${changes ? `: ${changes}` : ''}`);
    },
  };
}

const patient = (family: string) => ({ resourceType: 'Patient', name: [{ family }] });

describe('the completion hook: one awaited unit of work per interaction and bundle entry (PostgreSQL)', function () {
  let pool: pg.Pool;
  let composition: FhirComposition;
  let tenant: string;
  let send: SendAs;
  const calls: string[] = [];

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    composition = createFhirService(loadConfig({ HEARTH_AUDIT: 'off' }), { pool, mode: 'postgres', close: async () => undefined }, recordingHooks(calls));
    send = requestsTo(composition.service, () => tenant);
  });

  beforeEach(async () => {
    tenant = await newTenant(pool);
    calls.length = 0;
  });

  after(async () => {
    await composition?.maintenance.close();
  });

  const as: AccessContext = ANONYMOUS_ACCESS;

  it('REST: a write completes inside its transaction with what it wrote; a read after; the CapabilityStatement too', async () => {
    const created = await send(as, 'POST', 'Patient', { body: patient('Alpha'), bodyKind: 'resource' });
    assert.equal(created.status, 201);
    const id = String(created.body?.id);
    assert.equal((await send(as, 'GET', `Patient/${id}`)).status, 200);
    assert.equal((await send(as, 'GET', 'Patient?family=Alpha')).status, 200);
    assert.equal((await send(as, 'DELETE', `Patient/${id}`)).status, 200);
    assert.deepEqual(calls, [
      'authorize create Patient',
      'changed create Patient',
      'completed create Patient 201 inside: create Patient v1',
      'authorize read Patient',
      'completed read Patient 200 after',
      'authorize search-type Patient',
      'completed search-type Patient 200 after',
      'authorize delete Patient',
      'changed delete Patient',
      'completed delete Patient 200 inside: delete Patient v2',
    ]);
  });

  it('REST failures complete after the fact with their status and issue code: unroutable, not found, invalid', async () => {
    assert.equal((await send(as, 'GET', 'NoSuchType/1')).status, 404);
    assert.equal((await send(as, 'GET', 'Patient/absent')).status, 404);
    assert.equal((await send(as, 'POST', 'Patient', { body: { resourceType: 'Patient', gender: 42 }, bodyKind: 'resource' })).status, 400);
    assert.deepEqual(calls, [
      'completed read NoSuchType 404 not-found after',
      'authorize read Patient',
      'completed read Patient 404 not-found after',
      'authorize create Patient',
      'completed create Patient 400 value after',
    ]);
  });

  it('a request the scopes refuse completes after the fact as forbidden, before the deployment hook or any data was reached', async () => {
    const reader: AccessContext = { subject: 'app', clientId: 'app', scopes: ['system/Observation.rs'], isAdmin: false };
    assert.equal((await send(reader, 'GET', 'Patient/x')).status, 403);
    assert.deepEqual(calls, ['completed read Patient 403 forbidden after']);
  });

  it('batch: each entry completes on its own, as its own interaction, with its entry index', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: patient('Beta'), request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/absent' } },
        { fullUrl: 'urn:uuid:1', resource: patient('Gamma'), request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:1' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    };
    assert.equal((await send(as, 'POST', '', { body: bundle, bodyKind: 'resource' })).status, 200);
    assert.deepEqual(calls, [
      'authorize batch',
      'authorize create Patient',
      'changed create Patient',
      'completed create Patient 201 [batch 0] inside: create Patient v1',
      'authorize read Patient',
      'completed read Patient 404 not-found [batch 1] after',
      'authorize create Patient',
      'changed create Patient',
      'completed create Patient 201 [batch 2] inside: create Patient v1',
      // Refused before it reached the service (it refers to another entry): completed all the same.
      'completed create Observation 400 invalid [batch 3] after',
    ]);
  });

  it('transaction: every entry is authorized first, then each completes inside the one transaction in processing order; a matched conditional create too', async () => {
    const existing = await send(as, 'POST', 'Patient', { body: { ...patient('Delta'), identifier: [{ system: 'urn:s', value: 'd1' }] }, bodyKind: 'resource' });
    calls.length = 0;
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Patient/${String(existing.body?.id)}` } },
        { fullUrl: 'urn:uuid:p', resource: patient('Epsilon'), request: { method: 'POST', url: 'Patient' } },
        { resource: { ...patient('Delta'), identifier: [{ system: 'urn:s', value: 'd1' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:s|d1' } },
      ],
    };
    assert.equal((await send(as, 'POST', '', { body: bundle, bodyKind: 'resource' })).status, 200);
    assert.deepEqual(calls, [
      'authorize transaction',
      'authorize read Patient',
      'authorize create Patient',
      'authorize create Patient',
      // Processing order (http.html#trules): POST before GET.
      'changed create Patient',
      'completed create Patient 201 [transaction 1] inside: create Patient v1',
      'completed create Patient 200 [transaction 2] inside',
      'completed read Patient 200 [transaction 0] inside',
    ]);
  });

  it('a transaction that fails completes as the transaction, after its rollback (the entries that completed inside it rolled back with it)', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient('Zeta'), request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'DELETE', url: 'Patient/absent-but-fine' } },
        { resource: { resourceType: 'Patient', gender: 42 }, request: { method: 'POST', url: 'Patient' } },
      ],
    };
    assert.equal((await send(as, 'POST', '', { body: bundle, bodyKind: 'resource' })).status, 400);
    assert.deepEqual(calls, [
      'authorize transaction',
      'authorize create Patient',
      'authorize delete Patient',
      'authorize create Patient',
      'completed delete Patient 204 [transaction 1] inside',
      'changed create Patient',
      'completed create Patient 201 [transaction 0] inside: create Patient v1',
      'completed transaction 400 value after',
    ]);
  });

  it('hearth load: every entry of every unit it posts completes inside its unit\'s transaction', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-hooks-'));
    try {
      await writeFile(join(dir, 'patients.ndjson'), [patient('Eta'), patient('Theta'), patient('Iota')].map((p) => JSON.stringify(p)).join('\n') + '\n');
      const summary = await runLoad(await expandSources([dir]), {
        tenantId: tenant,
        baseUrl: 'http://h/fhir',
        handle: (req) => composition.service.handle(req),
        ledger: new RepositoryLedger(composition.repository),
        concurrency: 1,
        chunkSize: 2,
      });
      assert.equal(summary.failures.length, 0);
      assert.deepEqual(calls.filter((c) => c.startsWith('completed')), [
        'completed create Patient 201 [transaction 0] inside: create Patient v1',
        'completed create Patient 201 [transaction 1] inside: create Patient v1',
        'completed create Patient 201 [transaction 0] inside: create Patient v1',
      ]);
      assert.equal(calls.filter((c) => c === 'authorize transaction').length, 2, 'two units of two and one lines');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
