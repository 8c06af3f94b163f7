// End-to-end CRUD against a real Hearth server (FHIR R4 http.html: create, read, vread,
// update, delete, conditional read, Prefer, _summary/_elements/_pretty, HEAD,
// capabilities, tenancy), driven by fhir-kit-client and, where status codes and headers
// matter, by plain fetch.
import assert from 'node:assert/strict';
import type { Bundle, CapabilityStatement, OperationOutcome, Patient } from 'fhir/r4.js';
import { Client, type FhirResource } from 'fhir-kit-client';
import { assertOutcome, clientStatus, http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

const asResource = (r: object) => r as unknown as FhirResource;
const asPatient = (r: FhirResource) => r as unknown as Patient;

function samplePatient(family = 'Chalmers'): Patient {
  return {
    resourceType: 'Patient',
    active: true,
    name: [{ use: 'official', family, given: ['Peter', 'James'] }],
    gender: 'male',
    birthDate: '1974-12-25',
  };
}

async function historyOf(base: string, type: string, id: string): Promise<Bundle> {
  const res = await http<Bundle>(`${base}/${type}/${id}/_history`);
  assert.equal(res.status, 200);
  return res.body;
}

for (const mode of DATABASE_MODES) {
  describe(`CRUD end to end (${mode})`, function () {
    const hearth = useTestServer(mode);
    const tenant = hearth.useTenant();

    async function createPatient(patient: Patient = samplePatient()): Promise<Patient> {
      return asPatient(await tenant.client.create({ resourceType: 'Patient', body: asResource(patient) }));
    }

    describe('create', () => {
      it('answers 201 with Location, ETag W/"1", Last-Modified and the stored resource', async () => {
        const res = await http<Patient>(`${tenant.base}/Patient`, { method: 'POST', json: samplePatient() });
        assert.equal(res.status, 201);
        const created = res.body;
        assert.equal(created.resourceType, 'Patient');
        assert.match(created.id ?? '', /^[A-Za-z0-9\-.]{1,64}$/);
        assert.equal(res.headers.get('location'), `${tenant.base}/Patient/${created.id}/_history/1`);
        assert.equal(res.headers.get('etag'), 'W/"1"');
        assert.equal(created.meta?.versionId, '1');
        const lastModified = res.headers.get('last-modified');
        assert.ok(lastModified, 'Last-Modified header');
        const lastUpdated = Date.parse(created.meta?.lastUpdated ?? '');
        assert.ok(Math.abs(Date.now() - lastUpdated) < 60_000, 'meta.lastUpdated is now');
        assert.equal(Date.parse(lastModified), Math.floor(lastUpdated / 1000) * 1000, 'Last-Modified = meta.lastUpdated (seconds)');
        assert.deepEqual(created.name, samplePatient().name);
        assert.equal(created.birthDate, '1974-12-25');
        assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/);
      });

      it('assigns its own id and version even when the body carries an id and meta', async () => {
        const body = { ...samplePatient(), id: 'client-chosen', meta: { versionId: '7', lastUpdated: '2001-01-01T00:00:00Z' } };
        const created = await createPatient(body);
        assert.notEqual(created.id, 'client-chosen');
        assert.equal(created.meta?.versionId, '1');
        assert.notEqual(created.meta?.lastUpdated, '2001-01-01T00:00:00Z');
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id: 'client-chosen' })), 404);
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id: created.id as string }));
        assert.equal(read.id, created.id);
      });

      it('refuses a body of the wrong resourceType with 400', async () => {
        const res = await http(`${tenant.base}/Patient`, { method: 'POST', json: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } });
        assert.equal(res.status, 400);
        assertOutcome(res.body);
      });
    });

    describe('read and vread', () => {
      it('read returns exactly what create returned, versionId "1"', async () => {
        const created = await createPatient();
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id: created.id as string }));
        assert.deepEqual({ ...read }, { ...created });
        assert.equal(read.meta?.versionId, '1');
        const res = await http<Patient>(`${tenant.base}/Patient/${created.id}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('etag'), 'W/"1"');
        assert.ok(res.headers.get('last-modified'));
        assert.equal(res.headers.get('location'), null, 'a read has no Location');
      });

      it('read of an unknown id is 404 with an OperationOutcome', async () => {
        const res = await http(`${tenant.base}/Patient/does-not-exist`);
        assert.equal(res.status, 404);
        assertOutcome(res.body, 'not-found');
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id: 'does-not-exist' })), 404);
      });

      it('read with an invalid id is 400', async () => {
        const res = await http(`${tenant.base}/Patient/${'x'.repeat(65)}`);
        assert.equal(res.status, 400);
        assertOutcome(res.body);
      });

      it('vread of the existing version, an unknown version and a non-numeric version', async () => {
        const created = await createPatient();
        const id = created.id as string;
        const v1 = asPatient(await tenant.client.vread({ resourceType: 'Patient', id, version: '1' }));
        assert.deepEqual({ ...v1 }, { ...created });
        const res = await http<Patient>(`${tenant.base}/Patient/${id}/_history/1`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('etag'), 'W/"1"');
        for (const version of ['2', '999999', 'abc', '0']) {
          const unknown = await http(`${tenant.base}/Patient/${id}/_history/${version}`);
          assert.equal(unknown.status, 404, `version ${version}`);
          assertOutcome(unknown.body, 'not-found');
        }
        const otherId = await http(`${tenant.base}/Patient/nobody/_history/1`);
        assert.equal(otherId.status, 404);
      });
    });

    describe('update', () => {
      it('PUT stores version 2 with ETag W/"2" and the new content', async () => {
        const created = await createPatient();
        const id = created.id as string;
        const res = await http<Patient>(`${tenant.base}/Patient/${id}`, {
          method: 'PUT',
          json: { ...created, gender: 'female', name: [{ family: 'Changed' }] },
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('etag'), 'W/"2"');
        assert.equal(res.headers.get('location'), `${tenant.base}/Patient/${id}/_history/2`);
        assert.equal(res.body.meta?.versionId, '2');
        assert.equal(res.body.gender, 'female');
        assert.ok(Date.parse(res.body.meta?.lastUpdated ?? '') > Date.parse(created.meta?.lastUpdated ?? ''), 'lastUpdated moves forward');
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id }));
        assert.deepEqual({ ...read }, res.body);
        const v1 = asPatient(await tenant.client.vread({ resourceType: 'Patient', id, version: '1' }));
        assert.equal(v1.gender, 'male', 'version 1 is kept as it was');
      });

      it('fhir-kit-client update increments the version', async () => {
        const created = await createPatient();
        const updated = asPatient(
          await tenant.client.update({ resourceType: 'Patient', id: created.id as string, body: asResource({ ...created, active: false }) }),
        );
        assert.equal(updated.meta?.versionId, '2');
        assert.equal(updated.active, false);
      });

      it('update-as-create with a client id answers 201, version 1', async () => {
        const res = await http<Patient>(`${tenant.base}/Patient/my-own-id`, { method: 'PUT', json: { ...samplePatient(), id: 'my-own-id' } });
        assert.equal(res.status, 201);
        assert.equal(res.body.id, 'my-own-id');
        assert.equal(res.body.meta?.versionId, '1');
        assert.equal(res.headers.get('etag'), 'W/"1"');
        assert.equal(res.headers.get('location'), `${tenant.base}/Patient/my-own-id/_history/1`);
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id: 'my-own-id' }));
        assert.deepEqual({ ...read }, res.body);
      });

      it('update with identical content answers 200 and stores no new version', async () => {
        const created = await createPatient();
        const id = created.id as string;
        // Same content, with and without the version meta.
        const { meta: _meta, ...withoutMeta } = created;
        for (const body of [created, withoutMeta]) {
          const res = await http<Patient>(`${tenant.base}/Patient/${id}`, { method: 'PUT', json: body });
          assert.equal(res.status, 200);
          assert.equal(res.body.meta?.versionId, '1');
          assert.equal(res.body.meta?.lastUpdated, created.meta?.lastUpdated);
          assert.equal(res.headers.get('etag'), 'W/"1"');
        }
        const history = await historyOf(tenant.base, 'Patient', id);
        assert.equal(history.entry?.length, 1);
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id }));
        assert.deepEqual({ ...read }, created);
      });

      it('update whose body id differs from the URL id is 400 and stores nothing', async () => {
        const created = await createPatient();
        const res = await http(`${tenant.base}/Patient/${created.id}`, { method: 'PUT', json: { ...created, id: 'someone-else', gender: 'female' } });
        assert.equal(res.status, 400);
        assertOutcome(res.body, 'invalid');
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id: created.id as string }));
        assert.equal(read.meta?.versionId, '1');
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id: 'someone-else' })), 404);
      });

      it('update without an id in the body is 400', async () => {
        const created = await createPatient();
        const { id: _id, ...noId } = created;
        const res = await http(`${tenant.base}/Patient/${created.id}`, { method: 'PUT', json: { ...noId, gender: 'female' } });
        assert.equal(res.status, 400);
        assertOutcome(res.body, 'invalid');
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id: created.id as string }));
        assert.equal(read.gender, 'male');
      });

      it('If-Match with the current version succeeds; a stale one is 412 and stores nothing', async () => {
        const created = await createPatient();
        const id = created.id as string;
        const ok = await http<Patient>(`${tenant.base}/Patient/${id}`, {
          method: 'PUT',
          headers: { 'if-match': 'W/"1"' },
          json: { ...created, gender: 'female' },
        });
        assert.equal(ok.status, 200);
        assert.equal(ok.body.meta?.versionId, '2');
        const stale = await http(`${tenant.base}/Patient/${id}`, {
          method: 'PUT',
          headers: { 'if-match': 'W/"1"' },
          json: { ...created, gender: 'other' },
        });
        assert.equal(stale.status, 412);
        assertOutcome(stale.body);
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id }));
        assert.equal(read.meta?.versionId, '2');
        assert.equal(read.gender, 'female');
        assert.equal((await historyOf(tenant.base, 'Patient', id)).entry?.length, 2);
      });

      it('If-Match on an update-as-create of a missing resource is 412', async () => {
        const res = await http(`${tenant.base}/Patient/ghost`, {
          method: 'PUT',
          headers: { 'if-match': 'W/"1"' },
          json: { ...samplePatient(), id: 'ghost' },
        });
        assert.equal(res.status, 412);
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id: 'ghost' })), 404);
      });

      it('an invalid resource is 400 and stores nothing', async () => {
        const created = await createPatient();
        const res = await http(`${tenant.base}/Patient/${created.id}`, { method: 'PUT', json: { ...created, birthDate: 'not-a-date' } });
        assert.equal(res.status, 400);
        assertOutcome(res.body);
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id: created.id as string }));
        assert.equal(read.birthDate, '1974-12-25');
        assert.equal(read.meta?.versionId, '1');
      });
    });

    describe('delete', () => {
      it('delete, then read 410, vread of the tombstone 410, older versions 200; re-delete and update after delete', async () => {
        const created = await createPatient();
        const id = created.id as string;
        await tenant.client.update({ resourceType: 'Patient', id, body: asResource({ ...created, gender: 'female' }) });

        const del = await http(`${tenant.base}/Patient/${id}`, { method: 'DELETE' });
        assert.equal(del.status, 200);
        assertOutcome(del.body);
        assert.equal(del.headers.get('etag'), 'W/"3"', 'the tombstone is version 3');

        const read = await http(`${tenant.base}/Patient/${id}`);
        assert.equal(read.status, 410);
        assertOutcome(read.body);
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id })), 410);

        const tombstone = await http(`${tenant.base}/Patient/${id}/_history/3`);
        assert.equal(tombstone.status, 410);
        assertOutcome(tombstone.body);
        const v2 = await http<Patient>(`${tenant.base}/Patient/${id}/_history/2`);
        assert.equal(v2.status, 200);
        assert.equal(v2.body.gender, 'female');
        assert.equal(v2.body.meta?.versionId, '2');
        const v1 = await http<Patient>(`${tenant.base}/Patient/${id}/_history/1`);
        assert.equal(v1.status, 200);
        assert.equal(v1.body.gender, 'male');

        // Deleting again succeeds and writes nothing.
        const again = await http(`${tenant.base}/Patient/${id}`, { method: 'DELETE' });
        assert.ok(again.status === 200 || again.status === 204, `re-delete status ${again.status}`);
        assert.equal((await historyOf(tenant.base, 'Patient', id)).entry?.length, 3);
        assert.equal((await http(`${tenant.base}/Patient/${id}/_history/4`)).status, 404);

        // Updating a deleted resource re-creates it with the next version.
        const revived = await http<Patient>(`${tenant.base}/Patient/${id}`, { method: 'PUT', json: { ...created, gender: 'other' } });
        assert.equal(revived.status, 201);
        assert.equal(revived.body.meta?.versionId, '4');
        assert.equal(revived.headers.get('etag'), 'W/"4"');
        const after = asPatient(await tenant.client.read({ resourceType: 'Patient', id }));
        assert.equal(after.gender, 'other');
        assert.equal(after.meta?.versionId, '4');
        assert.equal((await historyOf(tenant.base, 'Patient', id)).entry?.length, 4);
      });

      it('fhir-kit-client delete works and the resource is gone', async () => {
        const created = await createPatient();
        const outcome = await tenant.client.delete({ resourceType: 'Patient', id: created.id as string });
        assert.equal(outcome.resourceType, 'OperationOutcome');
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id: created.id as string })), 410);
      });

      it('delete of an unknown resource answers 200/204 and creates nothing', async () => {
        const res = await http(`${tenant.base}/Patient/never-was`, { method: 'DELETE' });
        assert.ok(res.status === 200 || res.status === 204, `status ${res.status}`);
        assert.equal((await http(`${tenant.base}/Patient/never-was`)).status, 404);
        assert.equal((await http(`${tenant.base}/Patient/never-was/_history`)).status, 404);
      });

      it('Prefer return=minimal on delete gives 204 without a body', async () => {
        const created = await createPatient();
        const res = await http(`${tenant.base}/Patient/${created.id}`, { method: 'DELETE', headers: { prefer: 'return=minimal' } });
        assert.equal(res.status, 204);
        assert.equal(res.text, '');
        assert.equal((await http(`${tenant.base}/Patient/${created.id}`)).status, 410);
      });

      it('If-Match on delete: stale is 412 and nothing is deleted; current succeeds', async () => {
        const created = await createPatient();
        const stale = await http(`${tenant.base}/Patient/${created.id}`, { method: 'DELETE', headers: { 'if-match': 'W/"5"' } });
        assert.equal(stale.status, 412);
        assert.equal((await http(`${tenant.base}/Patient/${created.id}`)).status, 200);
        const ok = await http(`${tenant.base}/Patient/${created.id}`, { method: 'DELETE', headers: { 'if-match': 'W/"1"' } });
        assert.equal(ok.status, 200);
        assert.equal((await http(`${tenant.base}/Patient/${created.id}`)).status, 410);
      });
    });

    describe('conditional read', () => {
      it('If-None-Match with the current ETag is 304; another version is 200', async () => {
        const created = await createPatient();
        const url = `${tenant.base}/Patient/${created.id}`;
        const hit = await http(url, { headers: { 'if-none-match': 'W/"1"' } });
        assert.equal(hit.status, 304);
        assert.equal(hit.text, '');
        assert.equal(hit.headers.get('etag'), 'W/"1"');
        const miss = await http<Patient>(url, { headers: { 'if-none-match': 'W/"0"' } });
        assert.equal(miss.status, 200);
        assert.equal(miss.body.id, created.id);
        await tenant.client.update({ resourceType: 'Patient', id: created.id as string, body: asResource({ ...created, gender: 'female' }) });
        const changed = await http<Patient>(url, { headers: { 'if-none-match': 'W/"1"' } });
        assert.equal(changed.status, 200);
        assert.equal(changed.body.meta?.versionId, '2');
        assert.equal((await http(url, { headers: { 'if-none-match': 'W/"2"' } })).status, 304);
      });

      it('If-Modified-Since in the future is 304, in the past 200, at Last-Modified 304', async () => {
        const created = await createPatient();
        const url = `${tenant.base}/Patient/${created.id}`;
        const future = new Date(Date.now() + 3600_000).toUTCString();
        const past = new Date(Date.now() - 3600_000).toUTCString();
        const notModified = await http(url, { headers: { 'if-modified-since': future } });
        assert.equal(notModified.status, 304);
        assert.equal(notModified.text, '');
        const modified = await http<Patient>(url, { headers: { 'if-modified-since': past } });
        assert.equal(modified.status, 200);
        assert.equal(modified.body.id, created.id);
        const plain = await http(url);
        const lastModified = plain.headers.get('last-modified') as string;
        assert.equal((await http(url, { headers: { 'if-modified-since': lastModified } })).status, 304);
      });
    });

    describe('Prefer: return', () => {
      it('return=minimal on create and update: empty body, Location and ETag', async () => {
        const res = await http(`${tenant.base}/Patient`, { method: 'POST', headers: { prefer: 'return=minimal' }, json: samplePatient() });
        assert.equal(res.status, 201);
        assert.equal(res.text, '');
        const location = res.headers.get('location') ?? '';
        const m = new RegExp(`^${tenant.base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/Patient/([^/]+)/_history/1$`).exec(location);
        assert.ok(m, `Location ${location}`);
        assert.equal(res.headers.get('etag'), 'W/"1"');
        const id = m[1];
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id }));
        assert.equal(read.birthDate, '1974-12-25');

        const upd = await http(`${tenant.base}/Patient/${id}`, { method: 'PUT', headers: { prefer: 'return=minimal' }, json: { ...read, active: false } });
        assert.equal(upd.status, 200);
        assert.equal(upd.text, '');
        assert.equal(upd.headers.get('location'), `${tenant.base}/Patient/${id}/_history/2`);
      });

      it('return=OperationOutcome answers with an OperationOutcome', async () => {
        const res = await http(`${tenant.base}/Patient`, { method: 'POST', headers: { prefer: 'return=OperationOutcome' }, json: samplePatient() });
        assert.equal(res.status, 201);
        assertOutcome(res.body);
        assert.match(res.headers.get('location') ?? '', /\/Patient\/[^/]+\/_history\/1$/);
      });

      it('return=representation (the default) returns the resource', async () => {
        const res = await http<Patient>(`${tenant.base}/Patient`, { method: 'POST', headers: { prefer: 'return=representation' }, json: samplePatient() });
        assert.equal(res.status, 201);
        assert.equal(res.body.resourceType, 'Patient');
        assert.equal(res.body.meta?.versionId, '1');
      });
    });

    describe('result shaping', () => {
      const rich: Patient = {
        resourceType: 'Patient',
        text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Peter Chalmers</div>' },
        identifier: [{ system: 'urn:oid:1.2.36.146.595.217.0.1', value: '12345' }],
        active: true,
        name: [{ family: 'Chalmers', given: ['Peter'] }],
        gender: 'male',
        birthDate: '1974-12-25',
        maritalStatus: { text: 'married' },
        contact: [{ name: { family: 'du Marché' } }],
        communication: [{ language: { text: 'English' } }],
      };

      it('_summary=true keeps summary elements only and tags SUBSETTED', async () => {
        const created = await createPatient(rich);
        const res = await http<Patient>(`${tenant.base}/Patient/${created.id}?_summary=true`);
        assert.equal(res.status, 200);
        const p = res.body;
        assert.equal(p.id, created.id);
        assert.deepEqual(p.name, rich.name);
        assert.deepEqual(p.identifier, rich.identifier);
        assert.equal(p.gender, 'male');
        assert.equal(p.birthDate, '1974-12-25');
        for (const dropped of ['text', 'maritalStatus', 'contact', 'communication'] as const) {
          assert.equal(p[dropped], undefined, `${dropped} is not a summary element`);
        }
        assert.equal(p.meta?.versionId, '1');
        assert.ok(p.meta?.tag?.some((t) => t.system === SUBSETTED.system && t.code === SUBSETTED.code), 'SUBSETTED tag');
        // The stored resource is untouched.
        const full = asPatient(await tenant.client.read({ resourceType: 'Patient', id: created.id as string }));
        assert.deepEqual(full.maritalStatus, rich.maritalStatus);
        assert.equal(full.meta?.tag, undefined);
      });

      it('_elements=name returns name (plus id/meta) only, tagged SUBSETTED', async () => {
        const created = await createPatient(rich);
        const res = await http<Patient>(`${tenant.base}/Patient/${created.id}?_elements=name`);
        assert.equal(res.status, 200);
        assert.deepEqual(Object.keys(res.body).sort(), ['id', 'meta', 'name', 'resourceType']);
        assert.deepEqual(res.body.name, rich.name);
        assert.ok(res.body.meta?.tag?.some((t) => t.system === SUBSETTED.system && t.code === SUBSETTED.code));
      });

      it('_summary and _elements with bad values are 400', async () => {
        const created = await createPatient();
        assert.equal((await http(`${tenant.base}/Patient/${created.id}?_summary=bogus`)).status, 400);
        assert.equal((await http(`${tenant.base}/Patient/${created.id}?_elements=na%20me.x`)).status, 400);
      });

      it('_pretty=true indents the JSON without changing it', async () => {
        const created = await createPatient();
        const plain = await http(`${tenant.base}/Patient/${created.id}`);
        const pretty = await http(`${tenant.base}/Patient/${created.id}?_pretty=true`);
        assert.equal(pretty.status, 200);
        assert.ok(!plain.text.includes('\n'), 'compact by default');
        assert.match(pretty.text, /^\{\n {2}"resourceType": "Patient",\n/);
        assert.deepEqual(pretty.body, plain.body);
      });

      it('HEAD returns the headers of a read and no body', async () => {
        const created = await createPatient();
        const res = await http(`${tenant.base}/Patient/${created.id}`, { method: 'HEAD' });
        assert.equal(res.status, 200);
        assert.equal(res.text, '');
        assert.equal(res.headers.get('etag'), 'W/"1"');
        assert.ok(res.headers.get('last-modified'));
        assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/);
        const missing = await http(`${tenant.base}/Patient/nope`, { method: 'HEAD' });
        assert.equal(missing.status, 404);
        assert.equal(missing.text, '');
      });
    });

    describe('capabilities', () => {
      it('GET /metadata lists Patient with its interactions, fhirVersion 4.0.1', async () => {
        const res = await http<CapabilityStatement>(`${tenant.base}/metadata`);
        assert.equal(res.status, 200);
        const cs = res.body;
        assert.equal(cs.resourceType, 'CapabilityStatement');
        assert.equal(cs.fhirVersion, '4.0.1');
        assert.equal(cs.kind, 'instance');
        assert.equal(cs.implementation?.url, tenant.base);
        assert.equal(cs.rest?.length, 1);
        const rest = cs.rest![0];
        assert.equal(rest.mode, 'server');
        assert.ok(rest.interaction?.some((i) => i.code === 'history-system'));
        const patient = rest.resource?.find((r) => r.type === 'Patient');
        assert.ok(patient, 'Patient is listed');
        assert.deepEqual(
          new Set(patient.interaction?.map((i) => i.code)),
          new Set(['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type']),
        );
        // Search parameters listed are the ones really served (generated from the registry).
        const params = new Map(patient.searchParam?.map((p) => [p.name, p.type]));
        assert.equal(params.get('name'), 'string');
        assert.equal(params.get('identifier'), 'token');
        assert.equal(params.get('birthdate'), 'date');
        assert.equal(params.get('_id'), 'token');
        assert.ok(!params.has('_has'), 'nothing unimplemented is claimed');
        assert.equal(patient.versioning, 'versioned-update');
        assert.equal(patient.updateCreate, true);
        assert.equal(patient.conditionalCreate, true);
        const viaClient = (await tenant.client.capabilityStatement()) as unknown as CapabilityStatement;
        assert.equal(viaClient.fhirVersion, '4.0.1');
        assert.ok(viaClient.rest?.[0].resource?.some((r) => r.type === 'Observation'));
      });

      it('POST /metadata is 405', async () => {
        const res = await http(`${tenant.base}/metadata`, { method: 'POST', json: { resourceType: 'Parameters' } });
        assert.equal(res.status, 405);
        assertOutcome(res.body);
      });
    });

    describe('tenancy', () => {
      it('a resource of tenant A is 404 in tenant B', async () => {
        const created = await createPatient();
        const otherBase = await hearth.server.newTenantBase();
        const other = new Client({ baseUrl: otherBase });
        assert.equal(await clientStatus(other.read({ resourceType: 'Patient', id: created.id as string })), 404);
        assert.equal((await http(`${otherBase}/Patient/${created.id}/_history/1`)).status, 404);
        assert.equal((await http(`${otherBase}/Patient/${created.id}/_history`)).status, 404);
        // Same id in B is independent.
        const inB = await http<Patient>(`${otherBase}/Patient/${created.id}`, { method: 'PUT', json: { ...samplePatient('Other'), id: created.id } });
        assert.equal(inB.status, 201);
        assert.equal(inB.body.meta?.versionId, '1');
        const inA = asPatient(await tenant.client.read({ resourceType: 'Patient', id: created.id as string }));
        assert.equal(inA.name?.[0].family, 'Chalmers');
      });

      it('an unknown tenant is 404 with an OperationOutcome', async () => {
        const res = await http(`${hearth.server.origin}/t/nope/fhir/Patient/x`);
        assert.equal(res.status, 404);
        assertOutcome(res.body, 'not-found');
        const write = await http(`${hearth.server.origin}/t/nope/fhir/Patient`, { method: 'POST', json: samplePatient() });
        assert.equal(write.status, 404);
      });

      it('the default tenant at /fhir works', async () => {
        const defaultClient = new Client({ baseUrl: `${hearth.server.origin}/fhir` });
        const family = `Default-${Date.now()}`;
        const created = asPatient(await defaultClient.create({ resourceType: 'Patient', body: asResource(samplePatient(family)) }));
        const read = asPatient(await defaultClient.read({ resourceType: 'Patient', id: created.id as string }));
        assert.equal(read.name?.[0].family, family);
        const res = await http(`${hearth.server.origin}/fhir/Patient`, { method: 'POST', json: samplePatient(family) });
        assert.equal(res.status, 201);
        assert.match(res.headers.get('location') ?? '', new RegExp(`^${hearth.server.origin}/fhir/Patient/[^/]+/_history/1$`));
        // Not visible from a named tenant.
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id: created.id as string })), 404);
      });

      it('a path outside any FHIR base is 404', async () => {
        const res = await http(`${hearth.server.origin}/nowhere/Patient`);
        assert.equal(res.status, 404);
        assertOutcome(res.body);
      });
    });
  });
}
