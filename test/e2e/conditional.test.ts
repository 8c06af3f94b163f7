// End-to-end conditional create, update and delete (FHIR R4 http.html#ccreate,
// #cond-update, #cdelete) with the identifier and _id criteria.
import assert from 'node:assert/strict';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4.js';
import type { FhirResource } from 'fhir-kit-client';
import { clientStatus, http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const SYS = 'http://hospital.example.org/mrn';

const asResource = (r: object) => r as unknown as FhirResource;
const asPatient = (r: FhirResource) => r as unknown as Patient;

function withIdentifier(value: string, family = 'Doe', system: string | null = SYS): Patient {
  return {
    resourceType: 'Patient',
    identifier: [system === null ? { value } : { system, value }],
    name: [{ family }],
  };
}

const token = (value: string, system = SYS) => encodeURIComponent(`${system}|${value}`);

for (const mode of DATABASE_MODES) {
  describe(`conditional interactions end to end (${mode})`, function () {
    const hearth = useTestServer(mode);
    const tenant = hearth.useTenant();

    async function create(p: Patient): Promise<Patient & { id: string }> {
      return asPatient(await tenant.client.create({ resourceType: 'Patient', body: asResource(p) })) as Patient & { id: string };
    }

    /** Every Patient version in the tenant (type history). */
    async function patientVersions(): Promise<number> {
      const res = await http<Bundle>(`${tenant.base}/Patient/_history?_count=1000`);
      assert.equal(res.status, 200);
      return res.body.entry?.length ?? 0;
    }

    function conditionalCreate(p: Patient, criteria: string) {
      return http<Patient>(`${tenant.base}/Patient`, { method: 'POST', headers: { 'if-none-exist': criteria }, json: p });
    }

    describe('conditional create (If-None-Exist)', () => {
      it('0 matches: 201 creates; 1 match: 200 returns the existing resource and creates nothing', async () => {
        const first = await conditionalCreate(withIdentifier('A1', 'First'), `identifier=${SYS}|A1`);
        assert.equal(first.status, 201);
        assert.equal(first.body.meta?.versionId, '1');
        const id = first.body.id as string;
        assert.equal(first.headers.get('location'), `${tenant.base}/Patient/${id}/_history/1`);

        const second = await conditionalCreate(withIdentifier('A1', 'Second'), `identifier=${SYS}|A1`);
        assert.equal(second.status, 200);
        assert.equal(second.body.id, id);
        assert.equal(second.body.name?.[0].family, 'First', 'the existing resource, not the new body');
        assert.equal(second.body.meta?.versionId, '1');
        assert.equal(second.headers.get('etag'), 'W/"1"');
        assert.equal(second.headers.get('location'), `${tenant.base}/Patient/${id}/_history/1`);
        assert.equal(await patientVersions(), 1);

        // Through fhir-kit-client as well.
        const viaClient = asPatient(
          await tenant.client.create({ resourceType: 'Patient', body: asResource(withIdentifier('A1', 'Third')), options: { headers: { 'If-None-Exist': `identifier=${SYS}|A1` } } }),
        );
        assert.equal(viaClient.id, id);
        assert.equal(await patientVersions(), 1);
      });

      it('2 matches: 412 and nothing created', async () => {
        await create(withIdentifier('DUP'));
        await create(withIdentifier('DUP'));
        const res = await conditionalCreate(withIdentifier('DUP', 'Third'), `identifier=${SYS}|DUP`);
        assert.equal(res.status, 412);
        assert.equal((res.body as unknown as OperationOutcome).resourceType, 'OperationOutcome');
        assert.equal(await patientVersions(), 2);
      });

      it('the _id criterion matches by id', async () => {
        const existing = await create(withIdentifier('X', 'Existing'));
        const hit = await conditionalCreate(withIdentifier('Y', 'New'), `_id=${existing.id}`);
        assert.equal(hit.status, 200);
        assert.equal(hit.body.id, existing.id);
        assert.equal(hit.body.name?.[0].family, 'Existing');
        const miss = await conditionalCreate(withIdentifier('Y', 'New'), '_id=no-such-id');
        assert.equal(miss.status, 201);
        assert.notEqual(miss.body.id, 'no-such-id', 'create still assigns the id');
        assert.equal(await patientVersions(), 2);
        // Both criteria together must both hold.
        const both = await conditionalCreate(withIdentifier('Z'), `_id=${existing.id}&identifier=${SYS}|Y`);
        assert.equal(both.status, 201);
      });

      it('token forms: system|value, |value (no system), value (any system), system| (any value)', async () => {
        const withSystem = await create(withIdentifier('T1', 'WithSystem'));
        const noSystem = await create(withIdentifier('T1', 'NoSystem', null));
        const other = await create(withIdentifier('T2', 'Other', 'http://other.example.org'));

        const sys = await conditionalCreate(withIdentifier('new'), `identifier=${SYS}|T1`);
        assert.equal(sys.status, 200);
        assert.equal(sys.body.id, withSystem.id);

        const bare = await conditionalCreate(withIdentifier('new'), 'identifier=|T1');
        assert.equal(bare.status, 200);
        assert.equal(bare.body.id, noSystem.id);

        const any = await conditionalCreate(withIdentifier('new'), 'identifier=T1');
        assert.equal(any.status, 412, 'T1 in any system matches two');

        const inSystem = await conditionalCreate(withIdentifier('new'), 'identifier=http://other.example.org|');
        assert.equal(inSystem.status, 200);
        assert.equal(inSystem.body.id, other.id);

        const wrongSystem = await conditionalCreate(withIdentifier('T2'), `identifier=${SYS}|T2`);
        assert.equal(wrongSystem.status, 201);
      });

      it('deleted resources and other tenants do not match', async () => {
        const gone = await create(withIdentifier('DEL'));
        await tenant.client.delete({ resourceType: 'Patient', id: gone.id });
        const res = await conditionalCreate(withIdentifier('DEL', 'Again'), `identifier=${SYS}|DEL`);
        assert.equal(res.status, 201);
        assert.notEqual(res.body.id, gone.id);

        const otherBase = await hearth.server.newTenantBase();
        const inOther = await http(`${otherBase}/Patient`, { method: 'POST', headers: { 'if-none-exist': `identifier=${SYS}|DEL` }, json: withIdentifier('DEL') });
        assert.equal(inOther.status, 201);
      });

      it('parallel conditional creates with the same criteria create one resource', async () => {
        // http.html#ccreate: with one match the server returns it (200) instead of creating;
        // concurrent requests must not each see "no match" and create a duplicate.
        // A few rounds, each with its own identifier: the race does not show on every burst.
        for (let round = 1; round <= 4; round++) {
          const value = `RACE-${round}`;
          const results = await Promise.all(
            Array.from({ length: 12 }, (_, i) => conditionalCreate(withIdentifier(value, `racer-${i}`), `identifier=${SYS}|${value}`)),
          );
          const statuses = results.map((r) => r.status);
          assert.equal(await patientVersions(), round, `round ${round}: one Patient per identifier; statuses ${statuses.join(',')}`);
          assert.equal(statuses.filter((s) => s === 201).length, 1, `round ${round}: statuses ${statuses.join(',')}`);
          assert.equal(new Set(results.map((r) => r.body.id)).size, 1, 'everyone is given the same resource');
        }
      });

      it('an unsupported criterion is 400 naming it', async () => {
        const res = await conditionalCreate(withIdentifier('Q'), 'shoe-size=44');
        assert.equal(res.status, 400);
        const outcome = res.body as unknown as OperationOutcome;
        assert.equal(outcome.resourceType, 'OperationOutcome');
        assert.match(outcome.issue[0].diagnostics ?? '', /'shoe-size'/);
        assert.equal(await patientVersions(), 0);
        const empty = await conditionalCreate(withIdentifier('Q'), '');
        assert.equal(empty.status, 400);
      });
    });

    describe('conditional update (PUT Type?criteria)', () => {
      it('no match and no id in the body: 201 with a new server id', async () => {
        const res = await http<Patient>(`${tenant.base}/Patient?identifier=${token('U0')}`, { method: 'PUT', json: withIdentifier('U0', 'New') });
        assert.equal(res.status, 201);
        const id = res.body.id as string;
        assert.match(id, /^[A-Za-z0-9\-.]{1,64}$/);
        assert.equal(res.body.meta?.versionId, '1');
        assert.equal(res.headers.get('location'), `${tenant.base}/Patient/${id}/_history/1`);
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id }));
        assert.equal(read.name?.[0].family, 'New');
      });

      it('no match with an id in the body: update-as-create with that id', async () => {
        const res = await http<Patient>(`${tenant.base}/Patient?identifier=${token('U00')}`, { method: 'PUT', json: { ...withIdentifier('U00'), id: 'chosen-id' } });
        assert.equal(res.status, 201);
        assert.equal(res.body.id, 'chosen-id');
      });

      it('1 match: 200 updates that resource to version 2', async () => {
        const existing = await create(withIdentifier('U1', 'Before'));
        const updated = asPatient(
          await tenant.client.update({ resourceType: 'Patient', searchParams: { identifier: `${SYS}|U1` }, body: asResource(withIdentifier('U1', 'After')) }),
        );
        assert.equal(updated.id, existing.id);
        assert.equal(updated.meta?.versionId, '2');
        assert.equal(updated.name?.[0].family, 'After');
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id: existing.id }));
        assert.equal(read.name?.[0].family, 'After');
        assert.equal(read.meta?.versionId, '2');
        assert.equal(await patientVersions(), 2);

        // With the matching id in the body it also works; with plain fetch to see the status.
        const same = await http<Patient>(`${tenant.base}/Patient?identifier=${token('U1')}`, {
          method: 'PUT',
          json: { ...withIdentifier('U1', 'Again'), id: existing.id },
        });
        assert.equal(same.status, 200);
        assert.equal(same.body.meta?.versionId, '3');
        assert.equal(same.headers.get('etag'), 'W/"3"');
      });

      it('parallel conditional updates with no match create one resource', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            http<Patient>(`${tenant.base}/Patient?identifier=${token('URACE')}`, { method: 'PUT', json: withIdentifier('URACE', `racer-${i}`) }),
          ),
        );
        const statuses = results.map((r) => r.status);
        const ids = new Set(results.filter((r) => r.status < 300).map((r) => r.body.id));
        assert.equal(ids.size, 1, `one resource id; statuses ${statuses.join(',')}, ids ${[...ids].join(',')}`);
        assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses ${statuses.join(',')}`);
      });

      it('2 matches: 412 and nothing changes', async () => {
        const a = await create(withIdentifier('U2', 'A'));
        const b = await create(withIdentifier('U2', 'B'));
        const res = await http(`${tenant.base}/Patient?identifier=${token('U2')}`, { method: 'PUT', json: withIdentifier('U2', 'C') });
        assert.equal(res.status, 412);
        for (const [p, family] of [[a, 'A'], [b, 'B']] as const) {
          const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id: p.id }));
          assert.equal(read.name?.[0].family, family);
          assert.equal(read.meta?.versionId, '1');
        }
        assert.equal(await patientVersions(), 2);
      });

      it('a body id different from the match is 400 and nothing changes', async () => {
        const existing = await create(withIdentifier('U3', 'Before'));
        const res = await http<OperationOutcome>(`${tenant.base}/Patient?identifier=${token('U3')}`, {
          method: 'PUT',
          json: { ...withIdentifier('U3', 'After'), id: 'different' },
        });
        assert.equal(res.status, 400);
        assert.equal(res.body.resourceType, 'OperationOutcome');
        const read = asPatient(await tenant.client.read({ resourceType: 'Patient', id: existing.id }));
        assert.equal(read.meta?.versionId, '1');
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id: 'different' })), 404);
      });

      it('_id criterion and an unsupported criterion', async () => {
        const existing = await create(withIdentifier('U4', 'Before'));
        const byId = await http<Patient>(`${tenant.base}/Patient?_id=${existing.id}`, { method: 'PUT', json: withIdentifier('U4', 'After') });
        assert.equal(byId.status, 200);
        assert.equal(byId.body.id, existing.id);
        assert.equal(byId.body.meta?.versionId, '2');

        const bad = await http<OperationOutcome>(`${tenant.base}/Patient?nickname=Before`, { method: 'PUT', json: withIdentifier('U4') });
        assert.equal(bad.status, 400);
        assert.match(bad.body.issue[0].diagnostics ?? '', /'nickname'/);
        const bare = await http(`${tenant.base}/Patient`, { method: 'PUT', json: withIdentifier('U4') });
        assert.equal(bare.status, 400, 'PUT on the type without criteria');
      });
    });

    describe('conditional delete (DELETE Type?criteria)', () => {
      it('1 match: deletes it (read is 410)', async () => {
        const target = await create(withIdentifier('D1'));
        const keep = await create(withIdentifier('D1-other'));
        const res = await http(`${tenant.base}/Patient?identifier=${token('D1')}`, { method: 'DELETE' });
        assert.ok(res.status === 200 || res.status === 204, `status ${res.status}`);
        assert.equal((await http(`${tenant.base}/Patient/${target.id}`)).status, 410);
        assert.equal((await http(`${tenant.base}/Patient/${keep.id}`)).status, 200);
        const history = await http<Bundle>(`${tenant.base}/Patient/${target.id}/_history`);
        assert.equal(history.body.entry?.[0].request?.method, 'DELETE');
      });

      it('0 matches: 200/204 and nothing changes', async () => {
        const keep = await create(withIdentifier('D0'));
        const res = await http(`${tenant.base}/Patient?identifier=${token('nothing')}`, { method: 'DELETE' });
        assert.ok(res.status === 200 || res.status === 204, `status ${res.status}`);
        assert.equal((await http(`${tenant.base}/Patient/${keep.id}`)).status, 200);
        assert.equal(await patientVersions(), 1);
      });

      it('2 matches: 412 and nothing is deleted', async () => {
        const a = await create(withIdentifier('D2'));
        const b = await create(withIdentifier('D2'));
        const res = await http<OperationOutcome>(`${tenant.base}/Patient?identifier=${token('D2')}`, { method: 'DELETE' });
        assert.equal(res.status, 412);
        assert.equal(res.body.resourceType, 'OperationOutcome');
        assert.equal((await http(`${tenant.base}/Patient/${a.id}`)).status, 200);
        assert.equal((await http(`${tenant.base}/Patient/${b.id}`)).status, 200);
        assert.equal(await patientVersions(), 2);
      });

      it('through fhir-kit-client, by _id', async () => {
        const target = await create(withIdentifier('D3'));
        const outcome = await tenant.client.request(`Patient?_id=${target.id}`, { method: 'DELETE' });
        assert.equal(outcome.resourceType, 'OperationOutcome');
        assert.equal(await clientStatus(tenant.client.read({ resourceType: 'Patient', id: target.id })), 410);
      });

      it('an unsupported criterion is 400 naming it, and a bare DELETE on the type is 400', async () => {
        const keep = await create(withIdentifier('D4'));
        const res = await http<OperationOutcome>(`${tenant.base}/Patient?birth-year=2000`, { method: 'DELETE' });
        assert.equal(res.status, 400);
        assert.match(res.body.issue[0].diagnostics ?? '', /'birth-year'/);
        assert.equal((await http(`${tenant.base}/Patient`, { method: 'DELETE' })).status, 400);
        assert.equal((await http(`${tenant.base}/Patient/${keep.id}`)).status, 200);
      });
    });
  });
}
