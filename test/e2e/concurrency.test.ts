// Concurrent writers against one resource (FHIR R4 http.html#versioning): every write gets
// its own version, versions are gapless, and nothing is lost. On PostgreSQL the writes
// really overlap (pool of 10); embedded PGlite has one connection and serializes them,
// which must be just as correct.
import assert from 'node:assert/strict';
import type { Bundle, Patient } from 'fhir/r4.js';
import type { FhirResource } from 'fhir-kit-client';
import { http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const asResource = (r: object) => r as unknown as FhirResource;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const mode of DATABASE_MODES) {
  describe(`concurrent writes end to end (${mode})`, function () {
    this.timeout(60_000);
    const hearth = useTestServer(mode);
    const tenant = hearth.useTenant();

    /** Every version of Patient/id from instance history, newest first, with its content. */
    async function versions(id: string): Promise<Array<{ version: number; family?: string }>> {
      const res = await http<Bundle>(`${tenant.base}/Patient/${id}/_history?_count=1000`);
      assert.equal(res.status, 200);
      return (res.body.entry ?? []).map((e) => ({
        version: Number(/^W\/"(\d+)"$/.exec(e.response?.etag ?? '')?.[1]),
        family: (e.resource as Patient | undefined)?.name?.[0]?.family,
      }));
    }

    const put = (id: string, family: string) =>
      http<Patient>(`${tenant.base}/Patient/${id}`, { method: 'PUT', json: { resourceType: 'Patient', id, name: [{ family }] } });

    it('20 parallel PUTs to one resource: all succeed with distinct versions 2..21, history gapless', async () => {
      const created = (await tenant.client.create({ resourceType: 'Patient', body: asResource({ resourceType: 'Patient', name: [{ family: 'initial' }] }) })) as unknown as Patient;
      const id = created.id as string;
      const families = range(1, 20).map((i) => `writer-${i}`);
      const results = await Promise.all(families.map((f) => put(id, f)));

      for (const [i, r] of results.entries()) {
        assert.equal(r.status, 200, `writer ${i + 1}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.name?.[0].family, families[i], 'each response carries its own write');
        assert.equal(r.headers.get('etag'), `W/"${r.body.meta?.versionId}"`);
      }
      const returned = results.map((r) => Number(r.body.meta?.versionId)).sort((a, b) => a - b);
      assert.deepEqual(returned, range(2, 21), 'distinct versions 2..21');

      const current = (await tenant.client.read({ resourceType: 'Patient', id })) as unknown as Patient;
      assert.equal(current.meta?.versionId, '21');
      // The current content is the write that got version 21.
      const last = results.find((r) => r.body.meta?.versionId === '21');
      assert.equal(current.name?.[0].family, last?.body.name?.[0].family);

      const history = await versions(id);
      assert.deepEqual(history.map((h) => h.version), range(1, 21).reverse(), 'history 21..1, no gaps or duplicates');
      // Each stored version holds the content its writer sent.
      for (const r of results) {
        const v = Number(r.body.meta?.versionId);
        assert.equal(history.find((h) => h.version === v)?.family, r.body.name?.[0].family, `version ${v}`);
      }
      assert.deepEqual(new Set(history.slice(0, 20).map((h) => h.family)), new Set(families));
    });

    it('10 parallel PUTs to a new id: exactly one 201, the rest 200, versions 1..10 gapless', async () => {
      const id = 'race-to-create';
      const results = await Promise.all(range(1, 10).map((i) => put(id, `creator-${i}`)));
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses ${statuses.join(',')} ${JSON.stringify(results.find((r) => r.status >= 300)?.body)}`);
      assert.equal(statuses.filter((s) => s === 200).length, 9, `statuses ${statuses.join(',')}`);
      const creator = results.find((r) => r.status === 201);
      assert.equal(creator?.body.meta?.versionId, '1', 'the 201 is version 1');
      assert.deepEqual(results.map((r) => Number(r.body.meta?.versionId)).sort((a, b) => a - b), range(1, 10));

      const history = await versions(id);
      assert.deepEqual(history.map((h) => h.version), range(1, 10).reverse());
      const current = (await tenant.client.read({ resourceType: 'Patient', id })) as unknown as Patient;
      assert.equal(current.meta?.versionId, '10');
    });

    it('parallel JSON Patches that each append to a list lose no update', async () => {
      const created = (await tenant.client.create({
        resourceType: 'Patient',
        body: asResource({ resourceType: 'Patient', name: [{ family: 'Lists', given: ['start'] }] }),
      })) as unknown as Patient;
      const id = created.id as string;
      const results = await Promise.all(
        range(1, 12).map((i) =>
          http<Patient>(`${tenant.base}/Patient/${id}`, {
            method: 'PATCH',
            contentType: 'application/json-patch+json',
            json: [{ op: 'add', path: '/name/0/given/-', value: `g${i}` }],
          }),
        ),
      );
      assert.deepEqual(results.map((r) => r.status), results.map(() => 200));
      const current = (await tenant.client.read({ resourceType: 'Patient', id })) as unknown as Patient;
      assert.equal(current.meta?.versionId, '13');
      const given = current.name?.[0].given ?? [];
      assert.equal(given[0], 'start');
      assert.deepEqual(new Set(given.slice(1)), new Set(range(1, 12).map((i) => `g${i}`)));
      assert.equal(given.length, 13);
    });

    it('10 parallel DELETEs of one resource write exactly one tombstone', async () => {
      const created = (await tenant.client.create({ resourceType: 'Patient', body: asResource({ resourceType: 'Patient', name: [{ family: 'del' }] }) })) as unknown as Patient;
      const id = created.id as string;
      const results = await Promise.all(range(1, 10).map(() => http(`${tenant.base}/Patient/${id}`, { method: 'DELETE' })));
      assert.ok(results.every((r) => r.status === 200 || r.status === 204), results.map((r) => r.status).join(','));
      const history = await versions(id);
      assert.deepEqual(history.map((h) => h.version), [2, 1]);
      assert.equal((await http(`${tenant.base}/Patient/${id}`)).status, 410);
    });

    it('parallel creates get distinct ids, each version 1', async () => {
      const results = await Promise.all(
        range(1, 15).map((i) => http<Patient>(`${tenant.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient', name: [{ family: `c${i}` }] } })),
      );
      assert.ok(results.every((r) => r.status === 201));
      assert.equal(new Set(results.map((r) => r.body.id)).size, 15);
      assert.ok(results.every((r) => r.body.meta?.versionId === '1'));
      const typeHistory = await http<Bundle>(`${tenant.base}/Patient/_history?_count=100`);
      assert.equal(typeHistory.body.entry?.length, 15);
    });

    it('If-Match under contention: of 10 writers holding W/"1", exactly one wins and the rest get 412', async () => {
      const created = (await tenant.client.create({ resourceType: 'Patient', body: asResource({ resourceType: 'Patient', name: [{ family: 'cas' }] }) })) as unknown as Patient;
      const id = created.id as string;
      const results = await Promise.all(
        range(1, 10).map((i) =>
          http<Patient>(`${tenant.base}/Patient/${id}`, {
            method: 'PUT',
            headers: { 'if-match': 'W/"1"' },
            json: { resourceType: 'Patient', id, name: [{ family: `cas-${i}` }] },
          }),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, ...Array(9).fill(412)]);
      const history = await versions(id);
      assert.deepEqual(history.map((h) => h.version), [2, 1]);
    });
  });
}
