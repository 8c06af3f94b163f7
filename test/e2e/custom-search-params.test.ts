// End-to-end custom SearchParameters and $reindex (search.html#custom, async.html): a POSTed
// SearchParameter is indexed on new writes at once, becomes searchable after a reindex job
// (which also indexes the rows stored before it), is listed in the CapabilityStatement, and
// bad parameters are refused with the element named. On both database modes.
import assert from 'node:assert/strict';
import type { Bundle, CapabilityStatement, Parameters, SearchParameter } from 'fhir/r4.js';
import { assertOutcome, http, type HttpResult } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const BIRTH_PLACE = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace';

const birthCity = (id = 'birth-city', overrides: Partial<SearchParameter> = {}): SearchParameter => ({
  resourceType: 'SearchParameter',
  id,
  url: `http://example.org/fhir/SearchParameter/${id}`,
  name: 'BirthCity',
  status: 'active',
  description: 'City of birth (birthPlace extension)',
  code: 'birth-city',
  base: ['Patient'],
  type: 'string',
  expression: `Patient.extension.where(url = '${BIRTH_PLACE}').value.city`,
  ...overrides,
});

const patient = (id: string, city: string) => ({
  resourceType: 'Patient',
  id,
  extension: [{ url: BIRTH_PLACE, valueAddress: { city } }],
});

const ids = (bundle: Bundle) => (bundle.entry ?? []).map((e) => e.resource?.id).sort();

async function put(base: string, resource: { resourceType: string; id?: string }): Promise<HttpResult> {
  const res = await http(`${base}/${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
  assert.ok(res.status === 200 || res.status === 201, `PUT ${resource.resourceType}/${resource.id}: ${res.status} ${res.text}`);
  return res;
}

/** Polls a job's status URL until it has ended; returns the final answer. */
async function awaitJob(statusUrl: string): Promise<HttpResult<Parameters>> {
  for (let i = 0; i < 200; i++) {
    const res = await http<Parameters>(statusUrl);
    if (res.status !== 202) return res;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`job ${statusUrl} did not finish`);
}

const param = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);

async function reindex(url: string): Promise<HttpResult<Parameters>> {
  const started = await http(url, { method: 'POST' });
  assert.equal(started.status, 202, started.text);
  const statusUrl = started.headers.get('content-location') ?? '';
  assert.ok(statusUrl.includes('/_reindex/'), `Content-Location: ${statusUrl}`);
  const done = await awaitJob(statusUrl);
  assert.equal(done.status, 200, done.text);
  assert.equal(param(done.body, 'status')?.valueCode, 'completed', done.text);
  return done;
}

for (const mode of DATABASE_MODES) {
  describe(`custom search parameters and $reindex (${mode})`, function () {
    this.timeout(60_000);
    const fixture = useTestServer(mode, { reindexPollMs: 20, reindexStartDelayMs: 0, reindexBatchSize: 2 });
    const tenant = fixture.useTenant();

    it('is refused until reindexed, then finds old and new rows, and is listed in the CapabilityStatement', async () => {
      await put(tenant.base, patient('old-1', 'Springfield'));
      await put(tenant.base, patient('old-2', 'Shelbyville'));
      await put(tenant.base, patient('old-3', 'Springfield'));
      await put(tenant.base, birthCity());
      await put(tenant.base, patient('new-1', 'Springfield'));

      const early = await http(`${tenant.base}/Patient?birth-city=Springfield`);
      assert.equal(early.status, 400);
      const issue = assertOutcome(early.body).issue[0];
      assert.match(issue.diagnostics ?? '', /SearchParameter\/birth-city\/\$reindex/);
      assert.deepEqual(issue.expression, ['birth-city']);

      const before = await http<CapabilityStatement>(`${tenant.base}/metadata`);
      const listed = (cs: CapabilityStatement) =>
        cs.rest?.[0].resource?.find((r) => r.type === 'Patient')?.searchParam?.find((p) => p.name === 'birth-city');
      assert.equal(listed(before.body), undefined);

      const done = await reindex(`${tenant.base}/SearchParameter/birth-city/$reindex`);
      assert.equal(param(done.body, 'total')?.valueInteger, 4);
      assert.equal(param(done.body, 'processed')?.valueInteger, 4);
      assert.equal(param(done.body, 'percentComplete')?.valueInteger, 100);
      assert.equal(param(done.body, 'searchParameter')?.valueReference?.reference, 'SearchParameter/birth-city/_history/1');

      const found = await http<Bundle>(`${tenant.base}/Patient?birth-city=spring`);
      assert.equal(found.status, 200, found.text);
      assert.deepEqual(ids(found.body), ['new-1', 'old-1', 'old-3']);
      const exact = await http<Bundle>(`${tenant.base}/Patient?birth-city:exact=Shelbyville`);
      assert.deepEqual(ids(exact.body), ['old-2']);

      const after = await http<CapabilityStatement>(`${tenant.base}/metadata`);
      assert.deepEqual(listed(after.body), { name: 'birth-city', type: 'string', definition: birthCity().url });
      assert.ok(after.body.rest?.[0].operation?.some((o) => o.name === 'reindex'));
    });

    it('indexes writes made after the parameter is stored, and conditional operations use it', async () => {
      await put(tenant.base, birthCity());
      await reindex(`${tenant.base}/Patient/$reindex`);
      await put(tenant.base, patient('later', 'Ogdenville'));
      const found = await http<Bundle>(`${tenant.base}/Patient?birth-city=Ogdenville`);
      assert.deepEqual(ids(found.body), ['later']);
      const conditional = await http(`${tenant.base}/Patient?birth-city=Ogdenville`, { method: 'PUT', json: patient('later', 'Ogdenville') });
      assert.equal(conditional.status, 200, conditional.text);
    });

    it('is pending again after its expression changes, until the next reindex', async () => {
      await put(tenant.base, patient('p', 'Springfield'));
      await put(tenant.base, birthCity());
      await reindex(`${tenant.base}/$reindex`);
      assert.equal((await http(`${tenant.base}/Patient?birth-city=Springfield`)).status, 200);
      await put(tenant.base, birthCity('birth-city', { expression: `Patient.extension.where(url = '${BIRTH_PLACE}').value.state` }));
      assert.equal((await http(`${tenant.base}/Patient?birth-city=Springfield`)).status, 400);
      await reindex(`${tenant.base}/SearchParameter/birth-city/$reindex`);
      assert.equal((await http<Bundle>(`${tenant.base}/Patient?birth-city=Springfield`)).body.entry, undefined);
    });

    it('is invisible to other tenants, and stops being searchable when retired', async () => {
      await put(tenant.base, birthCity());
      await reindex(`${tenant.base}/SearchParameter/birth-city/$reindex`);
      const other = await fixture.server.newTenantBase();
      const res = await http(`${other}/Patient?birth-city=x`);
      assert.equal(res.status, 400);
      assert.match(assertOutcome(res.body).issue[0].diagnostics ?? '', /Unknown search parameter/);
      await put(tenant.base, birthCity('birth-city', { status: 'retired' }));
      assert.equal((await http(`${tenant.base}/Patient?birth-city=x`)).status, 400);
    });

    it('refuses unusable SearchParameters with the element named, storing nothing', async () => {
      const cases: [Partial<SearchParameter>, string][] = [
        [{ expression: 'Patient.extension.where(' }, 'SearchParameter.expression'],
        [{ expression: 'Observation.value' }, 'SearchParameter.expression'],
        [{ code: '_secret' }, 'SearchParameter.code'],
        [{ code: 'name' }, 'SearchParameter.code'],
        [{ type: 'composite' }, 'SearchParameter.type'],
        [{ base: ['NotAType' as 'Patient'] }, 'SearchParameter.base'],
      ];
      for (const [overrides, path] of cases) {
        const res = await http(`${tenant.base}/SearchParameter/bad`, { method: 'PUT', json: birthCity('bad', overrides) });
        assert.equal(res.status, 400, `${JSON.stringify(overrides)}: ${res.text}`);
        assert.ok(assertOutcome(res.body).issue.some((i) => i.expression?.includes(path)), `${path} in ${res.text}`);
      }
      await put(tenant.base, birthCity('first'));
      const clash = await http(`${tenant.base}/SearchParameter/second`, { method: 'PUT', json: birthCity('second') });
      assert.equal(clash.status, 400, clash.text);
      assert.match(assertOutcome(clash.body).issue[0].diagnostics ?? '', /SearchParameter\/first/);
      assert.equal((await http(`${tenant.base}/SearchParameter/bad`)).status, 404);
      assert.equal((await http(`${tenant.base}/SearchParameter/second`)).status, 404);
      // A draft is stored without checks on its use: it is neither indexed nor searchable.
      await put(tenant.base, birthCity('draft', { status: 'draft', code: 'draft-city' }));
    });

    it('reports job status, refuses unknown jobs and parameters, and can cancel a queued job', async () => {
      assert.equal((await http(`${tenant.base}/SearchParameter/nope/$reindex`, { method: 'POST' })).status, 404);
      assert.equal((await http(`${tenant.base}/_reindex/no-such-job`)).status, 404);
      assert.equal((await http(`${tenant.base}/Patient/$reindex`)).status, 405);
      await put(tenant.base, birthCity('drafted', { status: 'draft' }));
      const draft = await http(`${tenant.base}/SearchParameter/drafted/$reindex`, { method: 'POST' });
      assert.equal(draft.status, 400);
      assert.deepEqual(assertOutcome(draft.body).issue[0].expression, ['SearchParameter.status']);
    });
  });
}

describe('$reindex job cancellation', function () {
  this.timeout(30_000);
  // No worker: a queued job stays queued, so cancelling it is deterministic.
  const fixture = useTestServer('postgres', { reindexWorker: false });
  const tenant = fixture.useTenant();

  it('answers 202 with progress while queued and 200 cancelled after DELETE', async () => {
    const started = await http(`${tenant.base}/Observation/$reindex`, { method: 'POST' });
    assert.equal(started.status, 202);
    const statusUrl = started.headers.get('content-location') as string;
    const queued = await http<Parameters>(statusUrl);
    assert.equal(queued.status, 202);
    assert.match(queued.headers.get('x-progress') ?? '', /^0%/);
    assert.equal(param(queued.body, 'status')?.valueCode, 'queued');
    const cancelled = await http<Parameters>(statusUrl, { method: 'DELETE' });
    assert.equal(cancelled.status, 200);
    assert.equal(param(cancelled.body, 'status')?.valueCode, 'cancelled');
  });
});
