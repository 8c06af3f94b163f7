// End-to-end PATCH (FHIR R4 http.html#patch): JSON Patch and FHIRPath Patch, validation of
// the result, version handling, If-Match, and the unknown/deleted cases.
import assert from 'node:assert/strict';
import type { Bundle, OperationOutcome, Parameters, Patient } from 'fhir/r4.js';
import type { FhirResource, OpPatch } from 'fhir-kit-client';
import { clientStatus, http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const JSON_PATCH = 'application/json-patch+json';

const asResource = (r: object) => r as unknown as FhirResource;
const asPatient = (r: FhirResource) => r as unknown as Patient;

type Part = NonNullable<NonNullable<Parameters['parameter']>[number]['part']>[number];

/** One FHIRPath Patch operation (fhirpatch.html). */
function operation(type: string, path: string, extra: Part[] = []): NonNullable<Parameters['parameter']>[number] {
  return {
    name: 'operation',
    part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...extra],
  };
}

const fhirPathPatch = (...ops: NonNullable<Parameters['parameter']>): Parameters => ({ resourceType: 'Parameters', parameter: ops });

const original: Patient = {
  resourceType: 'Patient',
  active: true,
  name: [
    { use: 'official', family: 'Chalmers', given: ['Peter', 'James'] },
    { use: 'nickname', given: ['Jim'] },
  ],
  telecom: [{ system: 'phone', value: '555-0100', use: 'home' }],
  gender: 'male',
  birthDate: '1974-12-25',
};

for (const mode of DATABASE_MODES) {
  describe(`patch end to end (${mode})`, function () {
    const hearth = useTestServer(mode);
    const tenant = hearth.useTenant();

    async function createPatient(): Promise<Patient & { id: string }> {
      return asPatient(await tenant.client.create({ resourceType: 'Patient', body: asResource(original) })) as Patient & { id: string };
    }

    async function read(id: string): Promise<Patient> {
      return asPatient(await tenant.client.read({ resourceType: 'Patient', id }));
    }

    async function versionCount(id: string): Promise<number> {
      const res = await http<Bundle>(`${tenant.base}/Patient/${id}/_history`);
      return res.body.entry?.length ?? 0;
    }

    /** Asserts the resource is still exactly `expected` (version 1, one history entry). */
    async function assertUnchanged(expected: Patient & { id: string }): Promise<void> {
      assert.deepEqual({ ...(await read(expected.id)) }, expected);
      assert.equal(await versionCount(expected.id), 1);
    }

    describe('JSON Patch', () => {
      it('keeps the stored spelling of decimals it does not touch (datatypes.html#decimal)', async () => {
        const body = '{"resourceType":"Observation","status":"final","code":{"text":"weight"},"valueQuantity":{"value":72.50,"unit":"kg"}}';
        const created = await fetch(`${tenant.base}/Observation`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body });
        assert.equal(created.status, 201);
        const createdText = await created.text();
        assert.match(createdText, /"value":72\.50/, 'create keeps 72.50');
        const id = JSON.parse(createdText).id as string;
        const patched = await fetch(`${tenant.base}/Observation/${id}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json-patch+json' },
          body: JSON.stringify([{ op: 'add', path: '/issued', value: '2026-01-01T00:00:00Z' }]),
        });
        assert.equal(patched.status, 200);
        const readBack = await (await fetch(`${tenant.base}/Observation/${id}`)).text();
        assert.match(readBack, /"value":72\.50/, 'patch keeps 72.50');
        assert.match(readBack, /"issued":"2026-01-01T00:00:00Z"/);
      });

      it('replace and add produce a new version with the change (fhir-kit-client)', async () => {
        const p = await createPatient();
        const ops: OpPatch[] = [
          { op: 'replace', path: '/gender', value: 'female' },
          { op: 'add', path: '/name/0/given/-', value: 'Jacob' },
          { op: 'add', path: '/maritalStatus', value: { text: 'married' } },
          { op: 'remove', path: '/telecom' },
        ];
        const patched = asPatient(await tenant.client.patch({ resourceType: 'Patient', id: p.id, jsonPatch: ops }));
        assert.equal(patched.id, p.id);
        assert.equal(patched.meta?.versionId, '2');
        assert.equal(patched.gender, 'female');
        assert.deepEqual(patched.name?.[0].given, ['Peter', 'James', 'Jacob']);
        assert.deepEqual(patched.maritalStatus, { text: 'married' });
        assert.equal(patched.telecom, undefined);
        assert.equal(patched.birthDate, '1974-12-25', 'untouched elements stay');
        const stored = await read(p.id);
        assert.deepEqual({ ...stored }, { ...patched });
        const v1 = asPatient(await tenant.client.vread({ resourceType: 'Patient', id: p.id, version: '1' }));
        assert.equal(v1.gender, 'male');
        const history = await http<Bundle>(`${tenant.base}/Patient/${p.id}/_history`);
        assert.deepEqual(history.body.entry?.map((e) => e.response?.etag), ['W/"2"', 'W/"1"']);
      });

      it('answers 200 with ETag, Location and Last-Modified of the new version', async () => {
        const p = await createPatient();
        const res = await http<Patient>(`${tenant.base}/Patient/${p.id}`, {
          method: 'PATCH',
          contentType: JSON_PATCH,
          json: [{ op: 'replace', path: '/active', value: false }],
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('etag'), 'W/"2"');
        assert.equal(res.headers.get('location'), `${tenant.base}/Patient/${p.id}/_history/2`);
        assert.ok(res.headers.get('last-modified'));
        assert.equal(res.body.active, false);
      });

      it('a failing test op is 422 and nothing is stored', async () => {
        const p = await createPatient();
        const res = await http<OperationOutcome>(`${tenant.base}/Patient/${p.id}`, {
          method: 'PATCH',
          contentType: JSON_PATCH,
          json: [
            { op: 'replace', path: '/gender', value: 'female' },
            { op: 'test', path: '/birthDate', value: '2000-01-01' },
          ],
        });
        assert.equal(res.status, 422);
        assert.equal(res.body.resourceType, 'OperationOutcome');
        await assertUnchanged(p);
      });

      it('a passing test op applies the rest', async () => {
        const p = await createPatient();
        const patched = asPatient(
          await tenant.client.patch({
            resourceType: 'Patient',
            id: p.id,
            jsonPatch: [
              { op: 'test', path: '/birthDate', value: '1974-12-25' },
              { op: 'replace', path: '/birthDate', value: '1975-01-01' },
            ],
          }),
        );
        assert.equal(patched.birthDate, '1975-01-01');
        assert.equal(patched.meta?.versionId, '2');
      });

      it('a patch that changes nothing stores no new version', async () => {
        const p = await createPatient();
        const res = await http<Patient>(`${tenant.base}/Patient/${p.id}`, {
          method: 'PATCH',
          contentType: JSON_PATCH,
          json: [{ op: 'replace', path: '/gender', value: 'male' }],
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.meta?.versionId, '1');
        await assertUnchanged(p);
      });

      it('a malformed patch document is 400; a path that does not exist is 422', async () => {
        const p = await createPatient();
        const malformed = await http(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', contentType: JSON_PATCH, json: [{ op: 'frobnicate', path: '/gender' }] });
        assert.equal(malformed.status, 400);
        const notArray = await http(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', contentType: JSON_PATCH, json: { op: 'replace' } });
        assert.equal(notArray.status, 400);
        const missing = await http(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', contentType: JSON_PATCH, json: [{ op: 'replace', path: '/photo/0/url', value: 'x' }] });
        assert.equal(missing.status, 422);
        await assertUnchanged(p);
      });

      it('changing the id (or removing it, or the resourceType) is 400 and stores nothing', async () => {
        const p = await createPatient();
        for (const ops of [
          [{ op: 'replace', path: '/id', value: 'another-id' }],
          [{ op: 'remove', path: '/id' }],
          [{ op: 'replace', path: '/resourceType', value: 'Person' }],
        ]) {
          const res = await http<OperationOutcome>(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', contentType: JSON_PATCH, json: ops });
          assert.equal(res.status, 400, JSON.stringify(ops));
          assert.equal(res.body.resourceType, 'OperationOutcome');
        }
        await assertUnchanged(p);
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id: 'another-id' })), 404);
      });

      it('a result that is not a valid resource is 400 and stores nothing', async () => {
        const p = await createPatient();
        for (const ops of [
          [{ op: 'replace', path: '/birthDate', value: 'not-a-date' }],
          [{ op: 'replace', path: '/gender', value: 'robot' }],
          [{ op: 'add', path: '/noSuchElement', value: 1 }],
          [{ op: 'replace', path: '/active', value: 'yes' }],
        ]) {
          const res = await http<OperationOutcome>(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', contentType: JSON_PATCH, json: ops });
          assert.equal(res.status, 400, JSON.stringify(ops));
          assert.equal(res.body.resourceType, 'OperationOutcome');
        }
        await assertUnchanged(p);
      });

      it('meta.versionId in the patch does not decide the version', async () => {
        const p = await createPatient();
        const patched = asPatient(
          await tenant.client.patch({
            resourceType: 'Patient',
            id: p.id,
            jsonPatch: [
              { op: 'replace', path: '/meta/versionId', value: '42' },
              { op: 'replace', path: '/active', value: false },
            ],
          }),
        );
        assert.equal(patched.meta?.versionId, '2');
        assert.equal((await read(p.id)).meta?.versionId, '2');
      });
    });

    describe('FHIRPath Patch', () => {
      it('add, replace and delete (Parameters, application/fhir+json) give 200 and a new version', async () => {
        const p = await createPatient();
        const patch = fhirPathPatch(
          operation('add', 'Patient', [
            { name: 'name', valueString: 'maritalStatus' },
            { name: 'value', part: [{ name: 'text', valueString: 'married' }] },
          ]),
          operation('replace', 'Patient.birthDate', [{ name: 'value', valueDate: '1980-02-29' }]),
          operation('delete', "Patient.name.where(use = 'nickname')"),
          operation('add', 'Patient.name[0]', [
            { name: 'name', valueString: 'given' },
            { name: 'value', valueString: 'Jacob' },
          ]),
        );
        const res = await http<Patient>(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', json: patch });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.headers.get('etag'), 'W/"2"');
        const patched = res.body;
        assert.equal(patched.meta?.versionId, '2');
        assert.deepEqual(patched.maritalStatus, { text: 'married' });
        assert.equal(patched.birthDate, '1980-02-29');
        assert.equal(patched.name?.length, 1);
        assert.deepEqual(patched.name?.[0], { use: 'official', family: 'Chalmers', given: ['Peter', 'James', 'Jacob'] });
        assert.deepEqual({ ...(await read(p.id)) }, patched);
      });

      it('replace of a choice element and insert/move in a list', async () => {
        const p = await createPatient();
        const patch = fhirPathPatch(
          operation('add', 'Patient', [
            { name: 'name', valueString: 'deceased' },
            { name: 'value', valueBoolean: false },
          ]),
          operation('insert', 'Patient.telecom', [
            { name: 'index', valueInteger: 0 },
            { name: 'value', part: [{ name: 'system', valueCode: 'email' }, { name: 'value', valueString: 'p@example.org' }] },
          ]),
          operation('move', 'Patient.telecom', [
            { name: 'source', valueInteger: 0 },
            { name: 'destination', valueInteger: 1 },
          ]),
        );
        const res = await http<Patient>(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', json: patch });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.deceasedBoolean, false);
        assert.deepEqual(res.body.telecom?.map((t) => t.system), ['phone', 'email']);
      });

      it('a replace with no match is 422 and nothing is stored', async () => {
        const p = await createPatient();
        const res = await http<OperationOutcome>(`${tenant.base}/Patient/${p.id}`, {
          method: 'PATCH',
          json: fhirPathPatch(operation('replace', 'Patient.deceased', [{ name: 'value', valueBoolean: true }])),
        });
        assert.equal(res.status, 422);
        assert.equal(res.body.resourceType, 'OperationOutcome');
        await assertUnchanged(p);
      });

      it('an invalid result (birthDate not a date) is 400 and nothing is stored', async () => {
        const p = await createPatient();
        const res = await http<OperationOutcome>(`${tenant.base}/Patient/${p.id}`, {
          method: 'PATCH',
          json: fhirPathPatch(operation('replace', 'Patient.birthDate', [{ name: 'value', valueString: 'not-a-date' }])),
        });
        assert.equal(res.status, 400);
        assert.equal(res.body.resourceType, 'OperationOutcome');
        await assertUnchanged(p);
      });

      it('changing the id is 400', async () => {
        const p = await createPatient();
        const res = await http(`${tenant.base}/Patient/${p.id}`, {
          method: 'PATCH',
          json: fhirPathPatch(operation('replace', 'Patient.id', [{ name: 'value', valueId: 'other' }])),
        });
        assert.equal(res.status, 400);
        await assertUnchanged(p);
      });

      it('a body that is neither JSON Patch nor Parameters is 400; an unsupported Content-Type is 415', async () => {
        const p = await createPatient();
        const notParameters = await http(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', json: { ...original, gender: 'female' } });
        assert.equal(notParameters.status, 400);
        const text = await fetch(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', headers: { 'content-type': 'text/plain' }, body: 'gender=female' });
        assert.equal(text.status, 415);
        await text.body?.cancel();
        await assertUnchanged(p);
      });
    });

    describe('target and preconditions', () => {
      const ops = [{ op: 'replace', path: '/gender', value: 'female' }];

      it('patch of an unknown resource is 404', async () => {
        const res = await http<OperationOutcome>(`${tenant.base}/Patient/unknown`, { method: 'PATCH', contentType: JSON_PATCH, json: ops });
        assert.equal(res.status, 404);
        assert.equal(res.body.resourceType, 'OperationOutcome');
        assert.equal(await clientStatus(tenant.client.patch({ resourceType: 'Patient', id: 'unknown', jsonPatch: ops as OpPatch[] })), 404);
        assert.equal((await http(`${tenant.base}/Patient/unknown`)).status, 404, 'patch does not create');
      });

      it('patch of a deleted resource is 410 and it stays deleted', async () => {
        const p = await createPatient();
        await tenant.client.delete({ resourceType: 'Patient', id: p.id });
        const res = await http<OperationOutcome>(`${tenant.base}/Patient/${p.id}`, { method: 'PATCH', contentType: JSON_PATCH, json: ops });
        assert.equal(res.status, 410);
        assert.equal(res.body.resourceType, 'OperationOutcome');
        assert.equal((await http(`${tenant.base}/Patient/${p.id}`)).status, 410);
        assert.equal(await versionCount(p.id), 2);
      });

      it('If-Match: stale is 412 and stores nothing; current succeeds', async () => {
        const p = await createPatient();
        const stale = await http<OperationOutcome>(`${tenant.base}/Patient/${p.id}`, {
          method: 'PATCH',
          contentType: JSON_PATCH,
          headers: { 'if-match': 'W/"2"' },
          json: ops,
        });
        assert.equal(stale.status, 412);
        assert.equal(stale.body.resourceType, 'OperationOutcome');
        await assertUnchanged(p);
        const current = await http<Patient>(`${tenant.base}/Patient/${p.id}`, {
          method: 'PATCH',
          contentType: JSON_PATCH,
          headers: { 'if-match': 'W/"1"' },
          json: ops,
        });
        assert.equal(current.status, 200);
        assert.equal(current.body.gender, 'female');
        assert.equal(current.body.meta?.versionId, '2');
        // The old ETag is stale now.
        const again = await http(`${tenant.base}/Patient/${p.id}`, {
          method: 'PATCH',
          contentType: JSON_PATCH,
          headers: { 'if-match': 'W/"1"' },
          json: [{ op: 'replace', path: '/gender', value: 'other' }],
        });
        assert.equal(again.status, 412);
        assert.equal((await read(p.id)).gender, 'female');
      });
    });
  });
}
