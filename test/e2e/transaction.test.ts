// Transaction and batch bundles end to end (FHIR R4 http.html#transaction, #trules, #brules),
// on real PostgreSQL and on the embedded database, through plain HTTP and fhir-kit-client.
import assert from 'node:assert/strict';
import type { Bundle, BundleEntry, OperationOutcome } from 'fhir/r4.js';
import { readSyntheaFixture, SMALLEST_SYNTHEA_FIXTURE } from '../support/fixtures.js';
import { http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

type Json = Record<string, any>;

/** The smallest Synthea patient bundle of test/fixtures/synthea. */
const smallestSyntheaBundle = () => readSyntheaFixture<Bundle>(SMALLEST_SYNTHEA_FIXTURE);

const tx = (entry: BundleEntry[], type: 'transaction' | 'batch' = 'transaction'): Bundle => ({ resourceType: 'Bundle', type, entry });
const post = (base: string, bundle: unknown, headers: Record<string, string> = {}) => http<Json>(base, { method: 'POST', json: bundle, headers });
const patient = (family: string, mrn: string): Json => ({ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: mrn }], name: [{ family }] });
const count = async (base: string, query: string) => (await http<Bundle>(`${base}/${query}${query.includes('?') ? '&' : '?'}_summary=count`)).body.total;
const issueText = (body: Json) => (body as OperationOutcome).issue.map((i) => `${i.diagnostics} ${(i.expression ?? []).join(' ')}`).join('\n');

for (const mode of DATABASE_MODES) {
  describe(`transaction bundles (e2e, ${mode})`, function () {
    this.timeout(120_000);
    const fixture = useTestServer(mode, { bundleMaxEntries: 2000 });
    const tenant = fixture.useTenant();

    it('stores a Synthea patient bundle with every urn:uuid reference rewritten to Type/id', async () => {
      const bundle = smallestSyntheaBundle();
      const res = await post(tenant.base, bundle);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.type, 'transaction-response');
      assert.equal(res.body.entry.length, bundle.entry!.length);
      assert.ok(res.body.entry.every((e: Json) => e.response.status === '201 Created' && /^\w+\/[\w-]+\/_history\/1$/.test(e.response.location)));
      // Response order is request order: entry i's location has entry i's type.
      bundle.entry!.forEach((e, i) => assert.ok(res.body.entry[i].response.location.startsWith(`${e.resource!.resourceType}/`)));
      const patientId = res.body.entry.find((e: Json) => e.response.location.startsWith('Patient/')).response.location.split('/')[1];
      const observations = bundle.entry!.filter((e) => e.resource!.resourceType === 'Observation').length;
      assert.equal(await count(tenant.base, `Observation?subject=Patient/${patientId}`), observations);
      const stored = await http<Bundle>(`${tenant.base}/Observation?_count=500`);
      assert.ok(!JSON.stringify(stored.body).includes('urn:uuid:'), 'no urn:uuid left in stored resources');
    });

    it('rewrites urn:oid and absolute fullUrls, narrative links and any element holding a fullUrl', async () => {
      const res = await post(tenant.base, tx([
        { fullUrl: 'urn:oid:1.2.3.4', resource: patient('Oid', 'oid-1') as never, request: { method: 'POST', url: 'Patient' } },
        { fullUrl: `${tenant.base}/Practitioner/doc-1`, resource: { resourceType: 'Practitioner', id: 'doc-1' }, request: { method: 'PUT', url: 'Practitioner/doc-1' } },
        {
          fullUrl: 'urn:uuid:0f0e0d0c-0b0a-4000-8000-000000000001',
          resource: {
            resourceType: 'Observation', status: 'final', code: { text: 'x' },
            subject: { reference: 'urn:oid:1.2.3.4' },
            performer: [{ reference: `${tenant.base}/Practitioner/doc-1` }],
            text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><a href="urn:oid:1.2.3.4">patient</a></div>' },
            derivedFrom: [{ reference: 'urn:uuid:0f0e0d0c-0b0a-4000-8000-000000000001' }],
          } as never,
          request: { method: 'POST', url: 'Observation' },
        },
      ]));
      assert.equal(res.status, 200, res.text);
      const [p, , o] = res.body.entry.map((e: Json) => e.response.location.split('/_history')[0]);
      const observation = (await http<Json>(`${tenant.base}/${o}`)).body;
      assert.equal(observation.subject.reference, p);
      assert.equal(observation.performer[0].reference, 'Practitioner/doc-1');
      assert.equal(observation.derivedFrom[0].reference, o);
      assert.match(observation.text.div, new RegExp(`href="${p}"`));
    });

    it('is atomic: a bad entry fails the whole bundle naming the entry, and nothing is stored', async () => {
      assert.equal((await post(tenant.base, tx([{ resource: { ...patient('Before', 'keep-1'), id: 'keep-1' } as never, request: { method: 'PUT', url: 'Patient/keep-1' } }]))).status, 200);
      const res = await post(tenant.base, tx([
        { resource: { ...patient('Changed', 'keep-1'), id: 'keep-1' } as never, request: { method: 'PUT', url: 'Patient/keep-1' } },
        { fullUrl: 'urn:uuid:0f0e0d0c-0b0a-4000-8000-000000000002', resource: patient('New', 'new-1') as never, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', status: 42, code: { text: 'x' } } as never, request: { method: 'POST', url: 'Observation' } },
      ]));
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.match(issueText(res.body), /Bundle\.entry\[2\]/);
      assert.equal(await count(tenant.base, 'Patient?identifier=urn:mrn|new-1'), 0);
      const kept = await http<Json>(`${tenant.base}/Patient/keep-1`);
      assert.equal(kept.body.name[0].family, 'Before');
      assert.equal(kept.body.meta.versionId, '1');
      const history = await http<Bundle>(`${tenant.base}/Patient/keep-1/_history`);
      assert.equal(history.body.entry?.length, 1, 'no history row from the failed bundle');
    });

    it('processes DELETE, POST, PUT, GET in that order: a GET sees the bundle’s writes', async () => {
      assert.equal((await post(tenant.base, tx([{ resource: { ...patient('Gone', 'del-1'), id: 'del-1' } as never, request: { method: 'PUT', url: 'Patient/del-1' } }]))).status, 200);
      const res = await post(tenant.base, tx([
        { request: { method: 'GET', url: 'Patient?identifier=urn:mrn|order-1' } },
        { resource: { ...patient('Put', 'order-2'), id: 'put-1' } as never, request: { method: 'PUT', url: 'Patient/put-1' } },
        { resource: patient('Posted', 'order-1') as never, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'DELETE', url: 'Patient/del-1' } },
        { request: { method: 'GET', url: 'Patient/put-1' } },
      ]));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.entry.map((e: Json) => e.response.status.split(' ')[0]), ['200', '201', '201', '204', '200']);
      assert.equal(res.body.entry[0].resource.total ?? res.body.entry[0].resource.entry?.length, 1);
      assert.equal(res.body.entry[4].resource.name[0].family, 'Put');
      assert.equal((await http(`${tenant.base}/Patient/del-1`)).status, 410);
    });

    it('resolves conditional references: one match is used, none is 400, several 412', async () => {
      await post(tenant.base, tx([
        { resource: patient('Cond', 'cond-1') as never, request: { method: 'POST', url: 'Patient' } },
        { resource: patient('Twin', 'twin') as never, request: { method: 'POST', url: 'Patient' } },
        { resource: patient('Twin', 'twin') as never, request: { method: 'POST', url: 'Patient' } },
      ]));
      const observation = (ref: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: ref } });
      const ok = await post(tenant.base, tx([{ resource: observation('Patient?identifier=urn:mrn|cond-1') as never, request: { method: 'POST', url: 'Observation' } }]));
      assert.equal(ok.status, 200, ok.text);
      const stored = (await http<Json>(`${tenant.base}/${ok.body.entry[0].response.location}`)).body;
      const found = (await http<Bundle>(`${tenant.base}/Patient?identifier=urn:mrn|cond-1`)).body.entry![0].resource!;
      assert.equal(stored.subject.reference, `Patient/${found.id}`);
      const none = await post(tenant.base, tx([{ resource: observation('Patient?identifier=urn:mrn|nobody') as never, request: { method: 'POST', url: 'Observation' } }]));
      assert.equal(none.status, 400);
      assert.match(issueText(none.body), /Bundle\.entry\[0\].*matches no resource/);
      const several = await post(tenant.base, tx([{ resource: observation('Patient?identifier=urn:mrn|twin') as never, request: { method: 'POST', url: 'Observation' } }]));
      assert.equal(several.status, 412);
      assert.match(issueText(several.body), /more than one/);
    });

    it('honours entry-level ifNoneExist, ifMatch and conditional PUT', async () => {
      await post(tenant.base, tx([{ resource: { ...patient('Exists', 'ine-1'), id: 'ine-1' } as never, request: { method: 'PUT', url: 'Patient/ine-1' } }]));
      const res = await post(tenant.base, tx([
        { fullUrl: 'urn:uuid:0f0e0d0c-0b0a-4000-8000-000000000003', resource: patient('Exists', 'ine-1') as never, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:mrn|ine-1' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:0f0e0d0c-0b0a-4000-8000-000000000003' } } as never, request: { method: 'POST', url: 'Observation' } },
        { resource: patient('CondPut', 'cput-1') as never, request: { method: 'PUT', url: 'Patient?identifier=urn:mrn|cput-1' } },
      ]));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.entry[0].response.status, '200 OK');
      assert.equal(res.body.entry[0].response.location, 'Patient/ine-1/_history/1');
      assert.equal(await count(tenant.base, 'Patient?identifier=urn:mrn|ine-1'), 1);
      const obs = (await http<Json>(`${tenant.base}/${res.body.entry[1].response.location}`)).body;
      assert.equal(obs.subject.reference, 'Patient/ine-1', 'a reference to a matched conditional create points at the existing resource');
      assert.equal(res.body.entry[2].response.status, '201 Created');
      const again = await post(tenant.base, tx([{ resource: { ...patient('CondPut2', 'cput-1') } as never, request: { method: 'PUT', url: 'Patient?identifier=urn:mrn|cput-1' } }]));
      assert.equal(again.body.entry[0].response.status, '200 OK');
      assert.equal(await count(tenant.base, 'Patient?identifier=urn:mrn|cput-1'), 1);

      const stale = await post(tenant.base, tx([
        { resource: patient('Never', 'never-1') as never, request: { method: 'POST', url: 'Patient' } },
        { resource: { ...patient('Stale', 'ine-1'), id: 'ine-1' } as never, request: { method: 'PUT', url: 'Patient/ine-1', ifMatch: 'W/"7"' } },
      ]));
      assert.equal(stale.status, 412, stale.text);
      assert.match(issueText(stale.body), /Bundle\.entry\[1\]/);
      assert.equal(await count(tenant.base, 'Patient?identifier=urn:mrn|never-1'), 0);
    });

    it('runs a conditional DELETE entry with search semantics', async () => {
      await post(tenant.base, tx([
        { resource: patient('Doomed', 'cdel-1') as never, request: { method: 'POST', url: 'Patient' } },
        { resource: patient('Kept', 'cdel-2') as never, request: { method: 'POST', url: 'Patient' } },
      ]));
      const res = await post(tenant.base, tx([{ request: { method: 'DELETE', url: 'Patient?identifier=urn:mrn|cdel-1' } }]));
      assert.equal(res.status, 200, res.text);
      assert.match(res.body.entry[0].response.status, /^20[04]/);
      assert.equal(await count(tenant.base, 'Patient?identifier=urn:mrn|cdel-1'), 0);
      assert.equal(await count(tenant.base, 'Patient?identifier=urn:mrn|cdel-2'), 1);
    });

    it('applies PATCH entries: JSON Patch as a Binary, FHIRPath Patch as Parameters', async () => {
      await post(tenant.base, tx([{ resource: { ...patient('Patchy', 'patch-1'), id: 'patch-1', active: false } as never, request: { method: 'PUT', url: 'Patient/patch-1' } }]));
      const jsonPatch = Buffer.from(JSON.stringify([{ op: 'replace', path: '/active', value: true }])).toString('base64');
      const res = await post(tenant.base, tx([
        { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: jsonPatch } as never, request: { method: 'PATCH', url: 'Patient/patch-1' } },
      ]));
      assert.equal(res.status, 200, res.text);
      assert.equal((await http<Json>(`${tenant.base}/Patient/patch-1`)).body.active, true);
      const fhirPathPatch = {
        resourceType: 'Parameters',
        parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.gender' }, { name: 'value', valueCode: 'female' }] }],
      };
      await post(tenant.base, tx([{ resource: { ...patient('Patchy', 'patch-1'), id: 'patch-1', gender: 'male' } as never, request: { method: 'PUT', url: 'Patient/patch-1' } }]));
      const res2 = await post(tenant.base, tx([{ resource: fhirPathPatch as never, request: { method: 'PATCH', url: 'Patient/patch-1' } }]));
      assert.equal(res2.status, 200, res2.text);
      assert.equal((await http<Json>(`${tenant.base}/Patient/patch-1`)).body.gender, 'female');
    });

    it('returns the resources when Prefer: return=representation asks, and only then', async () => {
      const entry = [{ resource: patient('Rep', 'rep-1') as never, request: { method: 'POST' as const, url: 'Patient' } }];
      const minimal = await post(tenant.base, tx(entry));
      assert.equal(minimal.body.entry[0].resource, undefined);
      const full = await post(tenant.base, tx(entry), { Prefer: 'return=representation' });
      assert.equal(full.body.entry[0].resource.name[0].family, 'Rep');
      assert.equal(full.body.entry[0].resource.meta.versionId, '1');
    });

    it('refuses a resource changed by two entries, bad entries and the wrong Bundle.type, naming the entry', async () => {
      const twice = await post(tenant.base, tx([
        { resource: { ...patient('A', 'x'), id: 'dup' } as never, request: { method: 'PUT', url: 'Patient/dup' } },
        { request: { method: 'DELETE', url: 'Patient/dup' } },
      ]));
      assert.equal(twice.status, 400);
      assert.match(issueText(twice.body), /Bundle\.entry\[1\].*Patient\/dup/);
      const cases: [unknown, RegExp][] = [
        [{ resourceType: 'Bundle', type: 'collection', entry: [] }, /Bundle\.type/],
        [{ resourceType: 'Patient' }, /Bundle/],
        [tx([{ resource: patient('A', 'b') } as never]), /Bundle\.entry\[0\]\.request/],
        [tx([{ request: { method: 'FETCH', url: 'Patient' } } as never]), /Bundle\.entry\[0\]\.request\.method/],
        [tx([{ request: { method: 'POST', url: 'Patient' } }]), /Bundle\.entry\[0\]\.resource/],
        [tx([{ request: { method: 'GET', url: 'http://elsewhere.example/fhir/Patient' } }]), /Bundle\.entry\[0\]\.request\.url/],
        [tx([{ request: { method: 'GET', url: 'NoSuchType/1' } }]), /Bundle\.entry\[0\]/],
        [tx([
          { fullUrl: 'urn:uuid:0f0e0d0c-0b0a-4000-8000-00000000000a', resource: patient('A', 'b') as never, request: { method: 'POST', url: 'Patient' } },
          { fullUrl: 'urn:uuid:0f0e0d0c-0b0a-4000-8000-00000000000a', resource: patient('C', 'd') as never, request: { method: 'POST', url: 'Patient' } },
        ]), /Bundle\.entry\[1\]\.fullUrl/],
      ];
      for (const [body, pattern] of cases) {
        const res = await post(tenant.base, body);
        assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)}: ${res.status}`);
        assert.equal(res.body.resourceType, 'OperationOutcome');
        assert.match(issueText(res.body), pattern);
      }
    });

    it('answers 413 with an OperationOutcome above the configured number of entries', async () => {
      const entry = Array.from({ length: 2001 }, () => ({ request: { method: 'GET' as const, url: 'Patient' } }));
      const res = await post(tenant.base, tx(entry));
      assert.equal(res.status, 413);
      assert.equal(res.body.resourceType, 'OperationOutcome');
    });

    it('serializes concurrent bundles: 10 conditional creates of one identifier store one Patient', async () => {
      const bundle = (i: number) => tx([
        { fullUrl: `urn:uuid:0f0e0d0c-0b0a-4000-8000-0000000001${String(i).padStart(2, '0')}`, resource: patient('Race', 'race-1') as never, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:mrn|race-1' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: `run ${i}` }, subject: { reference: `urn:uuid:0f0e0d0c-0b0a-4000-8000-0000000001${String(i).padStart(2, '0')}` } } as never, request: { method: 'POST', url: 'Observation' } },
      ]);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => post(tenant.base, bundle(i))));
      assert.ok(results.every((r) => r.status === 200), results.map((r) => r.text).join('\n'));
      assert.equal(await count(tenant.base, 'Patient?identifier=urn:mrn|race-1'), 1);
      const only = (await http<Bundle>(`${tenant.base}/Patient?identifier=urn:mrn|race-1`)).body.entry![0].resource!;
      assert.equal(await count(tenant.base, `Observation?subject=Patient/${only.id}`), 10);
    });
  });

  describe(`transaction concurrency and capabilities (e2e, ${mode})`, function () {
    this.timeout(120_000);
    const fixture = useTestServer(mode);
    const tenant = fixture.useTenant();

    it('loses no update: 10 concurrent bundles each adding an identifier by JSON Patch give 10 identifiers, version 11', async () => {
      const created = await post(tenant.base, tx([{ resource: { resourceType: 'Patient', id: 'shared', identifier: [] } as never, request: { method: 'PUT', url: 'Patient/shared' } }]));
      assert.equal(created.status, 200, created.text);
      const patch = (i: number) => Buffer.from(JSON.stringify([{ op: 'add', path: '/identifier/-', value: { system: 'urn:run', value: String(i) } }])).toString('base64');
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => post(tenant.base, tx([
        { resource: patient(`Other ${i}`, `other-${i}`) as never, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch(i) } as never, request: { method: 'PATCH', url: 'Patient/shared' } },
      ]))));
      assert.ok(results.every((r) => r.status === 200), results.map((r) => `${r.status} ${r.text}`).join('\n'));
      const shared = (await http<Json>(`${tenant.base}/Patient/shared`)).body;
      assert.equal(shared.meta.versionId, '11');
      assert.deepEqual(shared.identifier.map((i: Json) => i.value).sort(), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      assert.equal(await count(tenant.base, 'Patient?identifier=urn:mrn|'), 10);
    });

    it('the CapabilityStatement lists transaction and batch', async () => {
      const rest = (await http<Json>(`${tenant.base}/metadata`)).body.rest[0];
      const codes = rest.interaction.map((i: Json) => i.code);
      assert.ok(codes.includes('transaction') && codes.includes('batch'), codes.join(','));
    });
  });

  describe(`batch bundles (e2e, ${mode})`, function () {
    this.timeout(60_000);
    const fixture = useTestServer(mode);
    const tenant = fixture.useTenant();

    it('runs each entry on its own: a failing entry does not affect the others', async () => {
      const res = await post(tenant.base, tx([
        { resource: patient('One', 'b-1') as never, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', gender: 'not-a-code' } as never, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/no-such-id' } },
        { resource: patient('Three', 'b-3') as never, request: { method: 'POST', url: 'Patient' } },
      ], 'batch'));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.type, 'batch-response');
      assert.deepEqual(res.body.entry.map((e: Json) => e.response.status.split(' ')[0]), ['201', '400', '404', '201']);
      assert.equal(res.body.entry[1].response.outcome.resourceType, 'OperationOutcome');
      assert.equal(await count(tenant.base, 'Patient'), 2);
    });

    it('rejects an entry that refers to another entry by its urn:uuid', async () => {
      const res = await post(tenant.base, tx([
        { fullUrl: 'urn:uuid:0f0e0d0c-0b0a-4000-8000-000000000009', resource: patient('Src', 'b-9') as never, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:0f0e0d0c-0b0a-4000-8000-000000000009' } } as never, request: { method: 'POST', url: 'Observation' } },
      ], 'batch'));
      assert.equal(res.status, 200);
      assert.equal(res.body.entry[0].response.status, '201 Created');
      assert.equal(res.body.entry[1].response.status, '400 Bad Request');
      assert.match(JSON.stringify(res.body.entry[1].response.outcome), /another entry/);
      assert.equal(await count(tenant.base, 'Observation'), 0);
    });
  });
}
