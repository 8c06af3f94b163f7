// End-to-end history (FHIR R4 http.html#history): instance, type and system level, paging
// that stays stable while clients keep writing, _since, _at, and the error cases.
import assert from 'node:assert/strict';
import type { Bundle, BundleEntry, Encounter, Observation, OperationOutcome, Patient } from 'fhir/r4.js';
import type { FhirResource } from 'fhir-kit-client';
import { http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const asResource = (r: object) => r as unknown as FhirResource;
const asBundle = (r: FhirResource) => r as unknown as Bundle;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "Patient/abc/3" for an entry: type, id and version. */
function key(entry: BundleEntry): string {
  const etag = entry.response?.etag ?? '';
  const version = /^W\/"(\d+)"$/.exec(etag)?.[1];
  assert.ok(version, `entry has a version ETag: ${JSON.stringify(entry.response)}`);
  const url = entry.fullUrl ?? '';
  const m = /\/([A-Za-z]+)\/([^/]+)$/.exec(url);
  assert.ok(m, `fullUrl ${url}`);
  return `${m[1]}/${m[2]}/${version}`;
}

function lastModified(entry: BundleEntry): number {
  const t = Date.parse(entry.response?.lastModified ?? '');
  assert.ok(!Number.isNaN(t), 'entry.response.lastModified');
  return t;
}

function assertNewestFirst(entries: BundleEntry[]): void {
  for (let i = 1; i < entries.length; i++) {
    assert.ok(lastModified(entries[i - 1]) >= lastModified(entries[i]), `entry ${i} is not older than entry ${i - 1}`);
  }
}

const nextLink = (bundle: Bundle) => bundle.link?.find((l) => l.relation === 'next')?.url;

for (const mode of DATABASE_MODES) {
  describe(`history end to end (${mode})`, function () {
    const hearth = useTestServer(mode);
    const tenant = hearth.useTenant();

    const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family }] });
    const observation = (value: number): Observation => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      valueQuantity: { value, unit: 'beats/min' },
    });
    const encounter = (): Encounter => ({
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    });

    async function create<T extends { resourceType: string }>(resource: T): Promise<T & { id: string }> {
      return (await tenant.client.create({ resourceType: resource.resourceType, body: asResource(resource) })) as unknown as T & { id: string };
    }
    async function update<T extends { resourceType: string; id?: string }>(resource: T): Promise<T> {
      return (await tenant.client.update({ resourceType: resource.resourceType, id: resource.id as string, body: asResource(resource) })) as unknown as T;
    }

    /** A patient with `versions` versions (1 create + updates); returns its id. */
    async function patientWithVersions(versions: number): Promise<string> {
      const p = await create(patient('v1'));
      for (let v = 2; v <= versions; v++) await update({ ...p, name: [{ family: `v${v}` }] });
      return p.id;
    }

    /** Follows every next link with fhir-kit-client, calling `between` after each page. */
    async function allPages(first: string, between?: (page: number) => Promise<void>): Promise<{ entries: BundleEntry[]; pages: Bundle[] }> {
      let bundle = asBundle(await tenant.client.request(first));
      const pages = [bundle];
      for (let page = 1; ; page++) {
        if (between) await between(page);
        const next = tenant.client.nextPage({ bundle: bundle as unknown as FhirResource & { link: Array<{ relation: string; url: string }> } });
        if (!next) break;
        bundle = asBundle(await next);
        pages.push(bundle);
        assert.ok(pages.length < 100, 'paging terminates');
      }
      return { entries: pages.flatMap((p) => p.entry ?? []), pages };
    }

    describe('instance history', () => {
      it('lists every version newest first with request method, url and ETag', async () => {
        const created = await create(patient('Created'));
        const id = created.id;
        await update({ ...created, name: [{ family: 'Updated once' }] });
        await update({ ...created, name: [{ family: 'Updated twice' }] });
        await tenant.client.delete({ resourceType: 'Patient', id });

        const bundle = asBundle(await tenant.client.resourceHistory({ resourceType: 'Patient', id }));
        assert.equal(bundle.resourceType, 'Bundle');
        assert.equal(bundle.type, 'history');
        const entries = bundle.entry ?? [];
        assert.equal(entries.length, 4);
        assert.deepEqual(entries.map(key), [4, 3, 2, 1].map((v) => `Patient/${id}/${v}`));
        assert.deepEqual(entries.map((e) => e.request?.method), ['DELETE', 'PUT', 'PUT', 'POST']);
        assert.deepEqual(entries.map((e) => e.response?.etag), ['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']);
        assert.equal(entries[0].request?.url, `Patient/${id}`);
        assert.equal(entries[1].request?.url, `Patient/${id}`);
        assert.equal(entries[3].request?.url, 'Patient');
        for (const e of entries) assert.equal(e.fullUrl, `${tenant.base}/Patient/${id}`);
        assert.equal(entries[0].resource, undefined, 'a delete has no resource');
        const resources = entries.slice(1).map((e) => e.resource as Patient);
        assert.deepEqual(resources.map((r) => r.meta?.versionId), ['3', '2', '1']);
        assert.deepEqual(resources.map((r) => r.name?.[0].family), ['Updated twice', 'Updated once', 'Created']);
        assertNewestFirst(entries);
        // Each resource equals what a vread of that version returns.
        for (const r of resources) {
          const v = await tenant.client.vread({ resourceType: 'Patient', id, version: r.meta?.versionId as string });
          assert.deepEqual({ ...v }, r);
        }
      });

      it('a version made by update-as-create is recorded as PUT Type/id with status 201 (Bundle.entry.request)', async () => {
        // Bundle.entry.request: "For history, it shows how the entry was processed to create the version".
        const res = await http(`${tenant.base}/Patient/put-created`, { method: 'PUT', json: { resourceType: 'Patient', id: 'put-created' } });
        assert.equal(res.status, 201);
        const bundle = asBundle(await tenant.client.resourceHistory({ resourceType: 'Patient', id: 'put-created' }));
        const [entry] = bundle.entry ?? [];
        assert.equal(entry.response?.status, '201');
        assert.deepEqual(entry.request, { method: 'PUT', url: 'Patient/put-created' });
      });

      it('a PUT that re-creates a deleted resource is recorded with status 201', async () => {
        const p = await create(patient('gone'));
        await tenant.client.delete({ resourceType: 'Patient', id: p.id });
        const revived = await http(`${tenant.base}/Patient/${p.id}`, { method: 'PUT', json: { ...p, name: [{ family: 'back' }] } });
        assert.equal(revived.status, 201);
        const bundle = asBundle(await tenant.client.resourceHistory({ resourceType: 'Patient', id: p.id }));
        const [newest] = bundle.entry ?? [];
        assert.equal(newest.response?.etag, 'W/"3"');
        assert.equal(newest.request?.method, 'PUT');
        assert.equal(newest.response?.status, '201', 'the interaction that made version 3 answered 201 Created');
      });

      it('history of an unknown resource is 404; of a deleted one it is 200', async () => {
        const res = await http<OperationOutcome>(`${tenant.base}/Patient/never-existed/_history`);
        assert.equal(res.status, 404);
        assert.equal(res.body.resourceType, 'OperationOutcome');
        const p = await create(patient('x'));
        await tenant.client.delete({ resourceType: 'Patient', id: p.id });
        const gone = await http<Bundle>(`${tenant.base}/Patient/${p.id}/_history`);
        assert.equal(gone.status, 200);
        assert.equal(gone.body.entry?.length, 2);
      });
    });

    describe('type and system history', () => {
      it('type history lists only that type, across ids, newest first', async () => {
        const a = await create(patient('A'));
        const o = await create(observation(60));
        const b = await create(patient('B'));
        await update({ ...a, name: [{ family: 'A2' }] });
        await update({ ...o, valueQuantity: { value: 61, unit: 'beats/min' } });

        const bundle = asBundle(await tenant.client.typeHistory({ resourceType: 'Patient' }));
        assert.equal(bundle.type, 'history');
        const entries = bundle.entry ?? [];
        assert.deepEqual(entries.map(key), [`Patient/${a.id}/2`, `Patient/${b.id}/1`, `Patient/${a.id}/1`]);
        assert.ok(entries.every((e) => (e.resource as Patient).resourceType === 'Patient'));
        assertNewestFirst(entries);

        const obs = asBundle(await tenant.client.typeHistory({ resourceType: 'Observation' }));
        assert.deepEqual((obs.entry ?? []).map(key), [`Observation/${o.id}/2`, `Observation/${o.id}/1`]);

        const none = asBundle(await tenant.client.typeHistory({ resourceType: 'Encounter' }));
        assert.equal(none.entry, undefined);
      });

      it('system history lists every type, newest first', async () => {
        const p = await create(patient('P'));
        const o = await create(observation(70));
        const e = await create(encounter());
        await update({ ...p, name: [{ family: 'P2' }] });
        await tenant.client.delete({ resourceType: 'Observation', id: o.id });

        const bundle = asBundle(await tenant.client.systemHistory());
        assert.equal(bundle.type, 'history');
        const entries = bundle.entry ?? [];
        assert.deepEqual(entries.map(key), [
          `Observation/${o.id}/2`,
          `Patient/${p.id}/2`,
          `Encounter/${e.id}/1`,
          `Observation/${o.id}/1`,
          `Patient/${p.id}/1`,
        ]);
        assert.deepEqual(entries.map((x) => x.request?.method), ['DELETE', 'PUT', 'POST', 'POST', 'POST']);
        assertNewestFirst(entries);
      });

      it('system history of one tenant does not show another tenant', async () => {
        await create(patient('mine'));
        const otherBase = await hearth.server.newTenantBase();
        const other = await http<Bundle>(`${otherBase}/_history`);
        assert.equal(other.status, 200);
        assert.equal(other.body.entry, undefined);
      });
    });

    describe('paging', () => {
      it('_count=2 gives 2 entries and a next link; following them yields every version once, in order', async () => {
        const id = await patientWithVersions(7);
        const first = asBundle(await tenant.client.request(`Patient/${id}/_history?_count=2`));
        assert.equal(first.entry?.length, 2);
        assert.ok(nextLink(first), 'a next link');
        assert.ok(first.link?.some((l) => l.relation === 'self'));
        const { entries, pages } = await allPages(`Patient/${id}/_history?_count=2`);
        assert.deepEqual(pages.map((p) => p.entry?.length ?? 0), [2, 2, 2, 1]);
        assert.deepEqual(entries.map(key), [7, 6, 5, 4, 3, 2, 1].map((v) => `Patient/${id}/${v}`));
        assert.equal(nextLink(pages[pages.length - 1]), undefined, 'no next link on the last page');
      });

      it('an exact multiple of _count ends on a full page, without an empty extra page', async () => {
        const id = await patientWithVersions(4);
        const { entries, pages } = await allPages(`Patient/${id}/_history?_count=2`);
        assert.deepEqual(entries.map(key), [4, 3, 2, 1].map((v) => `Patient/${id}/${v}`));
        assert.deepEqual(pages.map((p) => p.entry?.length ?? 0), [2, 2]);
      });

      it('instance history pages do not shift when new versions are written between fetches', async () => {
        const id = await patientWithVersions(7);
        const current = (await tenant.client.read({ resourceType: 'Patient', id })) as unknown as Patient;
        let n = 7;
        const { entries } = await allPages(`Patient/${id}/_history?_count=2`, async () => {
          n++;
          await update({ ...current, name: [{ family: `v${n}` }] });
        });
        assert.deepEqual(entries.map(key), [7, 6, 5, 4, 3, 2, 1].map((v) => `Patient/${id}/${v}`));
        // The writes did happen.
        const full = asBundle(await tenant.client.request(`Patient/${id}/_history?_count=100`));
        assert.equal(full.entry?.length, n);
      });

      it('type history pages stay stable across creates and updates between fetches', async () => {
        const a = await create(patient('a'));
        const b = await create(patient('b'));
        await update({ ...a, name: [{ family: 'a2' }] });
        const c = await create(patient('c'));
        await update({ ...b, name: [{ family: 'b2' }] });
        await update({ ...c, name: [{ family: 'c2' }] });
        const snapshot = asBundle(await tenant.client.request('Patient/_history?_count=100'));
        const expected = (snapshot.entry ?? []).map(key);
        assert.equal(expected.length, 6);
        const { entries } = await allPages('Patient/_history?_count=2', async (page) => {
          await create(patient(`new-${page}`));
          await update({ ...a, name: [{ family: `a-${page + 2}` }] });
        });
        const keys = entries.map(key);
        assert.equal(new Set(keys).size, keys.length, 'no duplicates');
        assert.deepEqual(keys, expected);
      });

      it('system history pages across types stay stable while writes happen', async () => {
        const p = await create(patient('p'));
        const o = await create(observation(1));
        const e = await create(encounter());
        await update({ ...o, valueQuantity: { value: 2, unit: 'beats/min' } });
        await update({ ...p, name: [{ family: 'p2' }] });
        await create(encounter());
        await tenant.client.delete({ resourceType: 'Encounter', id: e.id });
        const snapshot = asBundle(await tenant.client.request('_history?_count=100'));
        const expected = (snapshot.entry ?? []).map(key);
        assert.equal(expected.length, 7);
        for (const count of [1, 2, 3]) {
          const { entries } = await allPages(`_history?_count=${count}`, async (page) => {
            await create(observation(100 + page));
            await create(patient(`later-${page}`));
          });
          assert.deepEqual(entries.map(key), expected, `_count=${count}`);
          // Later snapshots include the new writes, so recompute for the next round.
          expected.splice(0, expected.length, ...(asBundle(await tenant.client.request('_history?_count=1000')).entry ?? []).map(key));
        }
      });

      it('a forged _page cursor is 400', async () => {
        const id = await patientWithVersions(2);
        const res = await http(`${tenant.base}/Patient/${id}/_history?_page=not-a-cursor`);
        assert.equal(res.status, 400);
      });
    });

    describe('_since and _at', () => {
      it('_since returns only versions at or after the instant', async () => {
        const id = await patientWithVersions(1);
        await sleep(20);
        const p = (await tenant.client.read({ resourceType: 'Patient', id })) as unknown as Patient;
        const v2 = await update({ ...p, name: [{ family: 'v2' }] });
        await sleep(20);
        await update({ ...p, name: [{ family: 'v3' }] });
        const v2Time = new Date(Date.parse(v2.meta?.lastUpdated as string));

        const justBefore = new Date(v2Time.getTime() - 1).toISOString();
        const before = asBundle(await tenant.client.request(`Patient/${id}/_history?_since=${encodeURIComponent(justBefore)}`));
        assert.deepEqual((before.entry ?? []).map(key), [`Patient/${id}/3`, `Patient/${id}/2`]);

        const future = new Date(Date.now() + 3600_000).toISOString();
        const none = await http<Bundle>(`${tenant.base}/Patient/${id}/_history?_since=${encodeURIComponent(future)}`);
        assert.equal(none.status, 200);
        assert.equal(none.body.entry, undefined);

        const all = asBundle(await tenant.client.request(`_history?_since=2000-01-01`));
        assert.equal(all.entry?.length, 3);
      });

      it('_since equal to a version\'s lastUpdated includes that version ("at or after", http.html#history)', async () => {
        const id = await patientWithVersions(1);
        await sleep(5);
        const p = (await tenant.client.read({ resourceType: 'Patient', id })) as unknown as Patient;
        const v2 = await update({ ...p, name: [{ family: 'v2' }] });
        const exact = v2.meta?.lastUpdated as string;
        const res = asBundle(await tenant.client.request(`Patient/${id}/_history?_since=${encodeURIComponent(exact)}`));
        assert.deepEqual((res.entry ?? []).map(key), [`Patient/${id}/2`]);
      });

      it('_at returns the version that was current at that time', async () => {
        const created = await create(patient('first'));
        await sleep(30);
        const v2 = await update({ ...created, name: [{ family: 'second' }] });
        await sleep(30);
        const v3 = await update({ ...created, name: [{ family: 'third' }] });
        const t1 = Date.parse(created.meta?.lastUpdated as string);
        const t2 = Date.parse(v2.meta?.lastUpdated as string);
        const t3 = Date.parse(v3.meta?.lastUpdated as string);
        const at = async (t: number) => {
          const iso = new Date(t).toISOString();
          const bundle = asBundle(await tenant.client.request(`Patient/${created.id}/_history?_at=${encodeURIComponent(iso)}`));
          return (bundle.entry ?? []).map(key);
        };
        assert.deepEqual(await at(Math.floor((t1 + t2) / 2)), [`Patient/${created.id}/1`]);
        assert.deepEqual(await at(Math.floor((t2 + t3) / 2)), [`Patient/${created.id}/2`]);
        assert.deepEqual(await at(t3 + 1000), [`Patient/${created.id}/3`]);
        assert.deepEqual(await at(t1 - 1000), []);
        // A whole-day _at covers every version current that day.
        const day = new Date(t2).toISOString().slice(0, 10);
        const sameDay = asBundle(await tenant.client.request(`Patient/${created.id}/_history?_at=${day}`));
        if (new Date(t1).toISOString().slice(0, 10) === day && new Date(t3).toISOString().slice(0, 10) === day) {
          assert.equal(sameDay.entry?.length, 3);
        }
      });

      it('an invalid _since or _at is 400', async () => {
        const id = await patientWithVersions(1);
        for (const q of ['_since=yesterday', '_since=2024-01-01T10:00:00', '_since=2024-13-01', '_at=not-a-date']) {
          const res = await http<OperationOutcome>(`${tenant.base}/Patient/${id}/_history?${q}`);
          assert.equal(res.status, 400, q);
          assert.equal(res.body.resourceType, 'OperationOutcome');
        }
      });

      it('an unknown parameter is 400 naming it', async () => {
        const id = await patientWithVersions(1);
        for (const url of [`${tenant.base}/Patient/${id}/_history?_bogus=1`, `${tenant.base}/Patient/_history?name=x`, `${tenant.base}/_history?_sort=x`]) {
          const res = await http<OperationOutcome>(url);
          assert.equal(res.status, 400, url);
          const param = new URL(url).searchParams.keys().next().value as string;
          assert.match(res.body.issue[0].diagnostics ?? '', new RegExp(param));
        }
      });

      it('an invalid _count is 400', async () => {
        const id = await patientWithVersions(1);
        assert.equal((await http(`${tenant.base}/Patient/${id}/_history?_count=abc`)).status, 400);
        assert.equal((await http(`${tenant.base}/Patient/${id}/_history?_count=-1`)).status, 400);
      });
    });
  });
}
