// SMART scopes on writes (issue 10 "Scopes and enforcement"; src/fhir/access/write-check.ts),
// through FhirService on PostgreSQL with access contexts built here (no tokens): under a patient
// scope for A, writes that would put data in B's compartment, or touch B's data, are refused and
// write nothing; B's resources answer like unknown ids; a transaction with one forbidden entry
// writes nothing, a batch fails only that entry; granular scopes hold on writes; system scopes
// and administrators are unaffected.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createFhirService, type FhirComposition } from '../../src/compose.js';
import { loadConfig } from '../../src/core/config.js';
import { ANONYMOUS_ACCESS, type AccessContext, type FhirRequest, type HttpMethod, type JsonObject } from '../../src/core/types.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';
import { requestsTo, type Reply, type SendAs } from '../support/service-requests.js';

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const IDS = 'http://example.org/ids';
const A = 'pat-a';
const B = 'pat-b';

const app = (scopes: string[], extra: Partial<AccessContext> = {}): AccessContext => ({ subject: 'app', scopes, isAdmin: false, ...extra });
const PATIENT_A = app(['patient/*.cruds'], { patient: A });
const ADMIN = ANONYMOUS_ACCESS;


function observation(subject: string, extra: JsonObject = {}, category = 'laboratory'): JsonObject {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: CATEGORY, code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
    subject: { reference: `Patient/${subject}` },
    ...extra,
  };
}

const diagnostics = (reply: Reply): string => String((reply.body?.issue as { diagnostics?: string }[] | undefined)?.[0]?.diagnostics);

describe('SMART scopes on writes (FhirService on PostgreSQL)', function () {
  let pool: pg.Pool;
  let composition: FhirComposition;
  let tenant: string;
  let obsA: string;
  let obsB: string;

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    composition = createFhirService(loadConfig({}), { pool, mode: 'postgres', close: async () => undefined });
  });

  after(async () => {
    await composition?.maintenance.close();
  });

  // The service exists once before() ran.
  const send: SendAs = (...args) => requestsTo(composition.service, () => tenant)(...args);


  const withBody = (resource: unknown): Partial<FhirRequest> => ({ body: resource, bodyKind: 'resource' });
  const put = (access: AccessContext, path: string, resource: JsonObject) => send(access, 'PUT', path, withBody(resource));
  const post = (access: AccessContext, path: string, resource: JsonObject, extra: Partial<FhirRequest> = {}) => send(access, 'POST', path, { ...withBody(resource), ...extra });

  /** The resource as the administrator reads it (status and body). */
  const adminRead = (type: string, id: string) => send(ADMIN, 'GET', `${type}/${id}`);

  /** Every version of every resource of `type` in the tenant: what "nothing written" is checked against. */
  async function versions(type: string): Promise<number> {
    const res = await send(ADMIN, 'GET', `${type}/_history?_count=1000`);
    assert.equal(res.status, 200);
    return ((res.body?.entry as unknown[]) ?? []).length;
  }

  async function versionOf(type: string, id: string): Promise<string | undefined> {
    const res = await adminRead(type, id);
    return res.status === 200 ? String((res.body?.meta as { versionId: string }).versionId) : undefined;
  }

  async function subjectOf(id: string): Promise<string> {
    const res = await adminRead('Observation', id);
    return String((res.body?.subject as { reference: string }).reference);
  }

  beforeEach(async () => {
    tenant = await newTenant(pool);
    for (const [id, family] of [[A, 'Alpha'], [B, 'Bravo']]) {
      assert.equal((await put(ADMIN, `Patient/${id}`, { resourceType: 'Patient', id, name: [{ family }] })).status, 201);
    }
    const a = await post(ADMIN, 'Observation', observation(A, { identifier: [{ system: IDS, value: 'obs-a' }] }));
    const b = await post(ADMIN, 'Observation', observation(B, { identifier: [{ system: IDS, value: 'obs-b' }] }));
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    obsA = String(a.body?.id);
    obsB = String(b.body?.id);
  });

  describe('create', () => {
    it('an Observation for the launch patient: 201', async () => {
      const res = await post(PATIENT_A, 'Observation', observation(A));
      assert.equal(res.status, 201, diagnostics(res));
    });

    it('an Observation for another patient: 403, nothing stored', async () => {
      const before = await versions('Observation');
      const res = await post(PATIENT_A, 'Observation', observation(B));
      assert.equal(res.status, 403);
      assert.equal(res.body?.resourceType, 'OperationOutcome');
      assert.match(diagnostics(res), /Patient\/pat-b/);
      assert.equal(await versions('Observation'), before);
    });

    it('an Observation for A that also names B (performer) puts it in B\'s compartment: 403', async () => {
      const before = await versions('Observation');
      const res = await post(PATIENT_A, 'Observation', observation(A, { performer: [{ reference: `Patient/${B}` }] }));
      assert.equal(res.status, 403);
      assert.equal(await versions('Observation'), before);
    });

    it('a reference to B on this server\'s absolute base, or to a version of B, is refused too', async () => {
      const before = await versions('Observation');
      const absolute = await post(PATIENT_A, 'Observation', observation(A, { performer: [{ reference: `http://h/fhir/Patient/${B}` }] }));
      const versioned = await post(PATIENT_A, 'Observation', observation(A, { focus: [{ reference: `Patient/${B}/_history/1` }] }));
      assert.equal(absolute.status, 403);
      assert.equal(versioned.status, 403);
      assert.equal(await versions('Observation'), before);
    });

    it('a Patient under a patient scope: 403 (a patient scope is about one existing patient)', async () => {
      const before = await versions('Patient');
      const res = await post(PATIENT_A, 'Patient', { resourceType: 'Patient', link: [{ other: { reference: `Patient/${A}` }, type: 'seealso' }] });
      assert.equal(res.status, 403);
      assert.equal(await versions('Patient'), before);
    });

    it('shared types outside the Patient compartment (Medication, Practitioner): 403', async () => {
      assert.equal((await post(PATIENT_A, 'Medication', { resourceType: 'Medication' })).status, 403);
      assert.equal((await post(PATIENT_A, 'Practitioner', { resourceType: 'Practitioner' })).status, 403);
    });

    it('If-None-Exist matching only B\'s resource does not answer with it: A gets a new resource', async () => {
      const res = await post(PATIENT_A, 'Observation', observation(A), { ifNoneExist: `identifier=${IDS}|obs-b` });
      assert.equal(res.status, 201, diagnostics(res));
      assert.notEqual(res.body?.id, obsB);
      assert.equal(await subjectOf(obsB), `Patient/${B}`);
    });

    it('user scopes of a Patient user are confined like patient scopes', async () => {
      const user = app(['user/Observation.cu'], { fhirUser: `Patient/${A}` });
      assert.equal((await post(user, 'Observation', observation(A))).status, 201);
      assert.equal((await post(user, 'Observation', observation(B))).status, 403);
    });

    it('a patient scope without a launch patient writes nothing', async () => {
      const res = await post(app(['patient/*.cruds']), 'Observation', observation(A));
      assert.equal(res.status, 403);
    });
  });

  describe('update', () => {
    it('A\'s Observation stays A\'s: 200; moved to B: 403, version unchanged', async () => {
      const ok = await put(PATIENT_A, `Observation/${obsA}`, { ...observation(A, { status: 'amended' }), id: obsA });
      assert.equal(ok.status, 200, diagnostics(ok));
      const res = await put(PATIENT_A, `Observation/${obsA}`, { ...observation(B), id: obsA });
      assert.equal(res.status, 403);
      assert.equal(await versionOf('Observation', obsA), '2');
      assert.equal(await subjectOf(obsA), `Patient/${A}`);
    });

    it('B\'s Observation: refused exactly like an unknown id, and not touched', async () => {
      const res = await put(PATIENT_A, `Observation/${obsB}`, { ...observation(A), id: obsB });
      const unknown = await put(PATIENT_A, 'Observation/no-such-obs', { ...observation(A), id: 'no-such-obs' });
      assert.equal(res.status, 404);
      assert.equal(unknown.status, 404);
      assert.equal(diagnostics(res).replace(obsB, 'X'), diagnostics(unknown).replace('no-such-obs', 'X'));
      // Not turned into an update-as-create over B's resource, nor a create at a free id.
      assert.equal(await versionOf('Observation', obsB), '1');
      assert.equal(await subjectOf(obsB), `Patient/${B}`);
      assert.equal((await adminRead('Observation', 'no-such-obs')).status, 404);
    });

    it('If-Match on B\'s Observation answers like If-Match on an unknown id', async () => {
      const res = await send(PATIENT_A, 'PUT', `Observation/${obsB}`, { ...withBody({ ...observation(A), id: obsB }), ifMatch: 'W/"1"' });
      const unknown = await send(PATIENT_A, 'PUT', 'Observation/no-such-obs', { ...withBody({ ...observation(A), id: 'no-such-obs' }), ifMatch: 'W/"1"' });
      assert.equal(res.status, unknown.status);
      assert.equal(diagnostics(res), diagnostics(unknown));
      assert.equal(await versionOf('Observation', obsB), '1');
    });

    it('A\'s own Patient may be updated; linking it to B is refused', async () => {
      assert.equal((await put(PATIENT_A, `Patient/${A}`, { resourceType: 'Patient', id: A, name: [{ family: 'Alpha2' }] })).status, 200);
      const res = await put(PATIENT_A, `Patient/${A}`, { resourceType: 'Patient', id: A, link: [{ other: { reference: `Patient/${B}` }, type: 'seealso' }] });
      assert.equal(res.status, 403);
      assert.equal(await versionOf('Patient', A), '2');
    });

    it('conditional update whose criteria match B\'s Observation does not touch it', async () => {
      const res = await send(PATIENT_A, 'PUT', `Observation?identifier=${IDS}|obs-b`, withBody(observation(A, { identifier: [{ system: IDS, value: 'obs-b' }] })));
      assert.equal(res.status, 201, diagnostics(res));
      assert.notEqual(res.body?.id, obsB);
      assert.equal(await versionOf('Observation', obsB), '1');
      assert.equal(await subjectOf(obsB), `Patient/${B}`);
    });

    it('conditional update naming B\'s id in the body: refused like an unknown id, B untouched', async () => {
      const res = await send(PATIENT_A, 'PUT', `Observation?identifier=${IDS}|nothing`, withBody({ ...observation(A), id: obsB }));
      assert.equal(res.status, 404);
      assert.equal(await versionOf('Observation', obsB), '1');
    });
  });

  describe('patch', () => {
    const jsonPatch = (ops: unknown[]): Partial<FhirRequest> => ({ body: ops, bodyKind: 'json-patch' });

    it('a patch that moves the subject to B: 403, version unchanged', async () => {
      const res = await send(PATIENT_A, 'PATCH', `Observation/${obsA}`, jsonPatch([{ op: 'replace', path: '/subject/reference', value: `Patient/${B}` }]));
      assert.equal(res.status, 403);
      assert.equal(await versionOf('Observation', obsA), '1');
      const ok = await send(PATIENT_A, 'PATCH', `Observation/${obsA}`, jsonPatch([{ op: 'replace', path: '/status', value: 'amended' }]));
      assert.equal(ok.status, 200, diagnostics(ok));
    });

    it('a patch of B\'s Observation answers like an unknown id', async () => {
      const ops = [{ op: 'replace', path: '/status', value: 'amended' }];
      const res = await send(PATIENT_A, 'PATCH', `Observation/${obsB}`, jsonPatch(ops));
      const unknown = await send(PATIENT_A, 'PATCH', 'Observation/no-such-obs', jsonPatch(ops));
      assert.equal(res.status, 404);
      assert.equal(diagnostics(res).replace(obsB, 'X'), diagnostics(unknown).replace('no-such-obs', 'X'));
      assert.equal(await versionOf('Observation', obsB), '1');
    });
  });

  describe('delete', () => {
    it('B\'s Observation: the answer of an unknown id, and it stays', async () => {
      const res = await send(PATIENT_A, 'DELETE', `Observation/${obsB}`);
      const unknown = await send(PATIENT_A, 'DELETE', 'Observation/no-such-obs');
      assert.equal(res.status, unknown.status);
      assert.equal(diagnostics(res).replace(obsB, 'X'), diagnostics(unknown).replace('no-such-obs', 'X'));
      assert.equal(await versionOf('Observation', obsB), '1');
    });

    it('A\'s Observation: deleted', async () => {
      assert.equal((await send(PATIENT_A, 'DELETE', `Observation/${obsA}`)).status, 200);
      assert.equal((await adminRead('Observation', obsA)).status, 410);
    });

    it('conditional delete whose criteria match B\'s Observation deletes nothing', async () => {
      const res = await send(PATIENT_A, 'DELETE', `Observation?identifier=${IDS}|obs-b`);
      assert.equal(res.status, 200);
      assert.match(diagnostics(res), /No Observation matched/);
      assert.equal(await versionOf('Observation', obsB), '1');
      // Criteria matching both A's and B's find only A's (one match, not "more than one").
      const both = await send(PATIENT_A, 'DELETE', `Observation?code=http://loinc.org|2339-0`);
      assert.equal(both.status, 200, diagnostics(both));
      assert.equal((await adminRead('Observation', obsA)).status, 410);
      assert.equal(await versionOf('Observation', obsB), '1');
    });
  });

  describe('bundles', () => {
    const bundle = (type: 'transaction' | 'batch', entries: JsonObject[]) => ({ resourceType: 'Bundle', type, entry: entries });
    const createEntry = (resource: JsonObject): JsonObject => ({ resource, request: { method: 'POST', url: String(resource.resourceType) } });

    it('a transaction mixing an allowed and a forbidden entry is refused whole; nothing is written', async () => {
      const before = { obs: await versions('Observation'), patients: await versions('Patient') };
      const tx = bundle('transaction', [
        // Runs first (DELETE before POST): must be rolled back with the rest.
        { request: { method: 'DELETE', url: `Observation/${obsA}` } },
        createEntry(observation(A)),
        { resource: { resourceType: 'Patient', id: A, name: [{ family: 'Changed' }] }, request: { method: 'PUT', url: `Patient/${A}` } },
        createEntry(observation(B)),
      ]);
      const res = await post(PATIENT_A, '', tx);
      assert.equal(res.status, 403);
      assert.match(diagnostics(res), /Bundle\.entry\[3\]/);
      assert.equal(await versions('Observation'), before.obs);
      assert.equal(await versions('Patient'), before.patients);
      assert.equal(await versionOf('Observation', obsA), '1');
      assert.equal(await versionOf('Patient', A), '1');
    });

    it('a transaction updating B\'s Observation fails (as for an unknown id) and writes nothing', async () => {
      const before = await versions('Observation');
      const tx = bundle('transaction', [
        createEntry(observation(A)),
        { resource: { ...observation(A), id: obsB }, request: { method: 'PUT', url: `Observation/${obsB}` } },
      ]);
      const res = await post(PATIENT_A, '', tx);
      assert.equal(res.status, 404);
      assert.equal(await versions('Observation'), before);
      assert.equal(await subjectOf(obsB), `Patient/${B}`);
    });

    it('a transaction whose conditional update matches only B\'s resource creates a new one for A', async () => {
      const tx = bundle('transaction', [
        { resource: observation(A), request: { method: 'PUT', url: `Observation?identifier=${IDS}|obs-b` } },
      ]);
      const res = await post(PATIENT_A, '', tx);
      assert.equal(res.status, 200, diagnostics(res));
      const entry = (res.body?.entry as { response: { status: string } }[])[0];
      assert.match(entry.response.status, /^201/);
      assert.equal(await versionOf('Observation', obsB), '1');
    });

    it('a transaction entry with ifNoneExist matching only B\'s resource creates A\'s own; one patching B\'s fails whole', async () => {
      const created = await post(PATIENT_A, '', bundle('transaction', [
        { resource: observation(A), request: { method: 'POST', url: 'Observation', ifNoneExist: `identifier=${IDS}|obs-b` } },
      ]));
      assert.equal(created.status, 200, diagnostics(created));
      const entry = (created.body?.entry as { response: { status: string; location?: string } }[])[0];
      assert.match(entry.response.status, /^201/);
      assert.ok(!String(entry.response.location).includes(obsB));
      const before = await versions('Observation');
      const patch = { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify([{ op: 'replace', path: '/status', value: 'amended' }])).toString('base64') };
      const res = await post(PATIENT_A, '', bundle('transaction', [createEntry(observation(A)), { resource: patch, request: { method: 'PATCH', url: `Observation/${obsB}` } }]));
      assert.equal(res.status, 404);
      assert.equal(await versions('Observation'), before);
      assert.equal(await versionOf('Observation', obsB), '1');
    });

    it('the same transaction without the forbidden entry succeeds', async () => {
      const tx = bundle('transaction', [createEntry(observation(A)), createEntry(observation(A, { status: 'preliminary' }))]);
      const res = await post(PATIENT_A, '', tx);
      assert.equal(res.status, 200, diagnostics(res));
    });

    it('a batch fails only its forbidden entry', async () => {
      const before = await versions('Observation');
      const res = await post(PATIENT_A, '', bundle('batch', [
        createEntry(observation(A)),
        createEntry(observation(B)),
        { request: { method: 'DELETE', url: `Observation/${obsB}` } },
        { request: { method: 'DELETE', url: 'Observation/no-such-obs' } },
      ]));
      assert.equal(res.status, 200);
      const statuses = (res.body?.entry as { response: { status: string } }[]).map((e) => e.response.status.slice(0, 3));
      // B's Observation: the answer to deleting an unknown id (204 under the entries' return=minimal).
      assert.deepEqual(statuses, ['201', '403', '204', '204']);
      assert.equal(await versions('Observation'), before + 1);
      assert.equal(await versionOf('Observation', obsB), '1');
    });
  });

  describe('granular scopes', () => {
    const labOnly = app([`patient/Observation.cu?category=${CATEGORY}|laboratory`], { patient: A });

    it('patient/Observation.cu?category=laboratory: a laboratory result 201, a vital sign 403', async () => {
      assert.equal((await post(labOnly, 'Observation', observation(A))).status, 201);
      const before = await versions('Observation');
      const res = await post(labOnly, 'Observation', observation(A, {}, 'vital-signs'));
      assert.equal(res.status, 403);
      assert.match(diagnostics(res), /category/);
      assert.equal(await versions('Observation'), before);
    });

    it('an update may not turn a laboratory result into a vital sign, nor touch a vital sign', async () => {
      const res = await put(labOnly, `Observation/${obsA}`, { ...observation(A, {}, 'vital-signs'), id: obsA });
      assert.equal(res.status, 403);
      const vital = await post(ADMIN, 'Observation', observation(A, {}, 'vital-signs'));
      const id = String(vital.body?.id);
      const touch = await put(labOnly, `Observation/${id}`, { ...observation(A), id });
      assert.equal(touch.status, 404);
      assert.equal(await versionOf('Observation', id), '1');
    });
  });

  describe('unconstrained callers', () => {
    it('system scopes write anywhere in the tenant, as before', async () => {
      const system = app(['system/Observation.cud']);
      assert.equal((await post(system, 'Observation', observation(B))).status, 201);
      assert.equal((await put(system, `Observation/${obsB}`, { ...observation(A), id: obsB })).status, 200);
      assert.equal((await put(system, 'Observation/chosen-id', { ...observation(B), id: 'chosen-id' })).status, 201);
      assert.equal((await send(system, 'DELETE', `Observation/${obsA}`)).status, 200);
    });

    it('a user scope of a Practitioner is tenant-wide', async () => {
      const practitioner = app(['user/Observation.cu'], { fhirUser: 'Practitioner/doc' });
      assert.equal((await post(practitioner, 'Observation', observation(B))).status, 201);
    });

    it('administrators are unaffected', async () => {
      assert.equal((await post(ADMIN, 'Patient', { resourceType: 'Patient' })).status, 201);
      assert.equal((await put(ADMIN, `Observation/${obsB}`, { ...observation(A), id: obsB })).status, 200);
    });
  });
});
