// System-level search (FHIR R4 http.html#search, search.html#all): GET [base]?_type=...,
// GET [base]/?..., POST [base]/_search, in both database modes. Results of several types in
// one searchset, in a total order (sort keys, then type, then id), paged by keyset links that
// stay exact while other clients write.
import assert from 'node:assert/strict';
import type { Bundle, CapabilityStatement, OperationOutcome } from 'fhir/r4.js';
import { assertOutcome, http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const matches = (bundle: Bundle) => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match');
/** `Type/id` of each match, from the resource itself. */
const refsOf = (bundle: Bundle) => matches(bundle).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
const linkOf = (bundle: Bundle, relation: string) => bundle.link?.find((l) => l.relation === relation)?.url;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TAG = { system: 'http://example.org/tags', code: 'sys' };

for (const mode of DATABASE_MODES) {
  describe(`system search (${mode})`, function () {
    this.timeout(120_000); // the embedded database starts slowly on a loaded machine
    const hearth = useTestServer(mode);
    const tenant = hearth.useTenant();

    const put = async (type: string, id: string, body: Record<string, unknown> = {}) => {
      const res = await http(`${tenant.base}/${type}/${id}`, { method: 'PUT', json: { resourceType: type, id, meta: { tag: [TAG] }, ...body } });
      assert.ok(res.status === 200 || res.status === 201, res.text);
    };
    const get = async (url: string): Promise<Bundle> => {
      const res = await http<Bundle>(url);
      assert.equal(res.status, 200, `${url}: ${res.text.slice(0, 500)}`);
      assert.equal(res.body.type, 'searchset');
      return res.body;
    };
    /** Every page through next links (`between` runs after the first), as Type/id. */
    const all = async (url: string, between?: () => Promise<void>) => {
      let bundle = await get(url);
      const refs = refsOf(bundle);
      if (between) await between();
      for (let pages = 1; linkOf(bundle, 'next'); pages++) {
        assert.ok(pages < 30, 'runaway paging');
        bundle = await get(linkOf(bundle, 'next') as string);
        refs.push(...refsOf(bundle));
      }
      return refs;
    };
    const status400 = async (url: string, expression: string, code = 'invalid', init = {}) => {
      const res = await http<OperationOutcome>(url, init);
      assert.equal(res.status, 400, `${url}: ${res.text.slice(0, 300)}`);
      const outcome = assertOutcome(res.body, code);
      assert.ok(outcome.issue.some((i) => i.expression?.includes(expression)), `${expression} in ${JSON.stringify(outcome.issue)}`);
    };

    /** Written one after another, so lastUpdated grows in this order. */
    const seed = async () => {
      await put('Patient', 'b', { gender: 'male', name: [{ family: 'Bee' }] });
      await sleep(3);
      await put('Observation', 'b', { status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/b' } });
      await sleep(3);
      await put('Organization', 'org', { name: 'Acme' });
      await sleep(3);
      await put('Patient', 'a', { gender: 'female', name: [{ family: 'Ay' }] });
      await sleep(3);
      await put('Observation', 'a', { status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/a' } });
      await sleep(3);
      await put('Condition', 'c', { subject: { reference: 'Patient/a' } });
    };

    it('_type=Patient,Observation: both types, ordered by type then id, each fullUrl on its own type', async () => {
      await seed();
      const bundle = await get(`${tenant.base}?_type=Patient,Observation`);
      assert.deepEqual(refsOf(bundle), ['Observation/a', 'Observation/b', 'Patient/a', 'Patient/b']);
      for (const entry of matches(bundle)) assert.equal(entry.fullUrl, `${tenant.base}/${entry.resource?.resourceType}/${entry.resource?.id}`);
      assert.equal(linkOf(bundle, 'self'), `${tenant.base}?_type=Patient%2CObservation`);
      // GET [base]/?... is the same search
      assert.deepEqual(refsOf(await get(`${tenant.base}/?_type=Observation,Patient`)), refsOf(bundle));
    });

    it('POST [base]/_search with a form body; GET [base]/_search is 405', async () => {
      await seed();
      const res = await http<Bundle>(`${tenant.base}/_search?_type=Patient,Observation`, {
        method: 'POST',
        contentType: 'application/x-www-form-urlencoded',
        body: '_id=a&_sort=-_lastUpdated',
      });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      assert.deepEqual(refsOf(res.body), ['Observation/a', 'Patient/a']);
      const self = new URL(linkOf(res.body, 'self') as string);
      assert.equal(`${self.origin}${self.pathname}`, tenant.base, 'links repeat the search as a GET on the base');
      assert.equal(self.searchParams.get('_id'), 'a');
      assert.equal((await http(`${tenant.base}/_search?_type=Patient`)).status, 405);
    });

    it('without _type: every type that has rows, with the parameters every resource has', async () => {
      await seed();
      assert.deepEqual(refsOf(await get(`${tenant.base}?_id=a,org,c`)), ['Condition/c', 'Observation/a', 'Organization/org', 'Patient/a']);
      assert.deepEqual(await all(`${tenant.base}?_tag=${TAG.system}|sys&_count=4`), [
        'Condition/c', 'Observation/a', 'Observation/b', 'Organization/org', 'Patient/a', 'Patient/b',
      ]);
      const count = await get(`${tenant.base}?_summary=count`);
      assert.equal(count.total, 6);
      assert.equal(count.entry, undefined);
      await status400(`${tenant.base}?gender=male`, 'gender');
      // an empty tenant: nothing to search, still checked
      const empty = await hearth.server.newTenantBase();
      const none = await http<Bundle>(`${empty}?_lastUpdated=gt2000&_total=accurate`);
      assert.equal(none.status, 200, none.text);
      assert.equal(none.body.total, 0);
      assert.equal((await http(`${empty}?gender=male`)).status, 400);
    });

    it('paging with _count=2 stays exact while another client writes: every match once, in order', async () => {
      await seed();
      const byTime = await all(`${tenant.base}?_type=Patient,Observation,Condition&_sort=_lastUpdated&_count=2`, async () => {
        await put('Patient', 'late'); // the newest: comes last
        await put('Organization', 'ignored'); // not a searched type
        assert.equal((await http(`${tenant.base}/Observation/a`, { method: 'DELETE' })).status, 200); // not seen yet
      });
      assert.deepEqual(byTime, ['Patient/b', 'Observation/b', 'Patient/a', 'Condition/c', 'Patient/late']);
      const subject = { subject: { reference: 'Patient/a' } };
      const byId = await all(`${tenant.base}?_type=Patient,Observation,Condition&_sort=_id&_count=2`, async () => {
        // after the first page, (a, Patient) and (b, Observation): two before the cursor (one tied
        // on id, of a type sorting first), two after it
        await put('Condition', '0', subject);
        await put('Condition', 'b', subject);
        await put('Patient', 'bb');
        await put('Condition', 'late', subject);
      });
      assert.deepEqual(byId, ['Patient/a', 'Observation/b', 'Patient/b', 'Patient/bb', 'Condition/c', 'Condition/late', 'Patient/late']);
    });

    it('_sort=-_lastUpdated: next and previous links walk the same pages', async () => {
      await seed();
      const url = `${tenant.base}?_type=Patient,Observation,Condition,Organization&_sort=-_lastUpdated&_count=2`;
      const expected = ['Condition/c', 'Observation/a', 'Patient/a', 'Organization/org', 'Observation/b', 'Patient/b'];
      let bundle = await get(url);
      const pages = [refsOf(bundle)];
      assert.equal(linkOf(bundle, 'previous'), undefined);
      while (linkOf(bundle, 'next')) pages.push(refsOf((bundle = await get(linkOf(bundle, 'next') as string))));
      assert.deepEqual(pages.flat(), expected);
      const back = [refsOf(bundle)];
      while (linkOf(bundle, 'previous')) back.unshift(refsOf((bundle = await get(linkOf(bundle, 'previous') as string))));
      assert.deepEqual(back, pages);
    });

    it('ties across types are broken by type, then id; _sort=-_id orders by id, then type', async () => {
      await seed();
      // every resource has the same tag: the order is (tag, type, id)
      assert.deepEqual(await all(`${tenant.base}?_type=Patient,Observation&_sort=-_tag&_count=1`), ['Observation/a', 'Observation/b', 'Patient/a', 'Patient/b']);
      assert.deepEqual(await all(`${tenant.base}?_type=Patient,Observation&_sort=-_id&_count=3`), ['Patient/b', 'Observation/b', 'Patient/a', 'Observation/a']);
      assert.deepEqual(await all(`${tenant.base}?_type=Patient,Observation&_sort=_id&_count=3`), ['Observation/a', 'Patient/a', 'Observation/b', 'Patient/b']);
    });

    it('a parameter every listed type defines with the same type filters and sorts; _total, _elements', async () => {
      await seed();
      // subject is a reference on both Observation and Condition
      assert.deepEqual(await all(`${tenant.base}?_type=Observation,Condition&subject=Patient/a`), ['Condition/c', 'Observation/a']);
      assert.deepEqual(await all(`${tenant.base}?_type=Observation,Condition&_sort=-subject,_id&_count=1`), ['Observation/b', 'Observation/a', 'Condition/c']);
      // one type: all its parameters
      assert.deepEqual(refsOf(await get(`${tenant.base}?_type=Patient&gender=male&_sort=family`)), ['Patient/b']);
      const totals = await get(`${tenant.base}?_type=Patient,Observation&_total=accurate&_count=1`);
      assert.equal(totals.total, 4);
      assert.equal(matches(totals).length, 1);
      assert.ok(linkOf(totals, 'next'));
      const estimate = await get(`${tenant.base}?_type=Patient,Observation&_total=estimate`);
      assert.ok(Number.isInteger(estimate.total) && (estimate.total as number) >= 0);
      const trimmed = await get(`${tenant.base}?_type=Patient,Observation&_elements=status`);
      for (const entry of matches(trimmed)) {
        const r = entry.resource as unknown as Record<string, unknown>;
        assert.equal(r.name, undefined);
        assert.equal(r.subject, undefined);
      }
      const count = await get(`${tenant.base}?_type=Patient,Observation&_summary=count`);
      assert.equal(count.total, 4);
    });

    it('errors are 400 OperationOutcomes naming the parameter', async () => {
      await seed();
      await status400(`${tenant.base}?_type=Patient,Banana`, '_type');
      await status400(`${tenant.base}?_type=`, '_type');
      await status400(`${tenant.base}?_type=Patient&_type=Observation`, '_type');
      await status400(`${tenant.base}?_type=Patient,Observation&gender=male`, 'gender'); // not on Observation
      await status400(`${tenant.base}?_type=Patient,Observation&_sort=birthdate`, '_sort');
      await status400(`${tenant.base}?_type=Patient,Observation&foo=bar`, 'foo');
      await status400(`${tenant.base}?_type=Patient,Observation&_include=Observation:subject`, '_include', 'not-supported');
      await status400(`${tenant.base}?_type=Patient,Observation&_revinclude=Observation:subject`, '_revinclude', 'not-supported');
      await status400(`${tenant.base}?_type=Patient,Observation&_count=x`, '_count');
      await status400(`${tenant.base}?_type=Observation,Condition&subject=Banana/1`, 'subject');
      const cursor = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
      await status400(`${tenant.base}?_type=Patient,Observation&_page=${cursor(['>', 'Banana', 'a'])}`, '_page');
      await status400(`${tenant.base}?_type=Patient,Observation&_page=${cursor(['>', 'Patient'])}`, '_page');
      await status400(`${tenant.base}?_type=Patient,Observation&_sort=_lastUpdated&_page=${cursor(['>', 'x', 'Patient', 'a'])}`, '_page');
      await status400(`${tenant.base}/_search`, 'gender', 'invalid', { method: 'POST', contentType: 'application/x-www-form-urlencoded', body: '_type=Patient,Observation&gender=male' });
    });

    it('Prefer: handling=lenient ignores what not every type has, for every type, and says so', async () => {
      await seed();
      const res = await http<Bundle>(`${tenant.base}?_type=Patient,Observation&gender=male&_id=a,b`, { headers: { prefer: 'handling=lenient' } });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      assert.deepEqual(refsOf(res.body), ['Observation/a', 'Observation/b', 'Patient/a', 'Patient/b']);
      const outcome = (res.body.entry ?? []).find((e) => e.search?.mode === 'outcome');
      assert.match(JSON.stringify(outcome), /gender/);
      assert.equal(new URL(linkOf(res.body, 'self') as string).searchParams.get('gender'), null);
    });

    it('the CapabilityStatement lists search-system and _type', async () => {
      const res = await http<CapabilityStatement>(`${tenant.base}/metadata`);
      assert.equal(res.status, 200);
      const rest = res.body.rest?.[0];
      assert.ok(rest?.interaction?.some((i) => i.code === 'search-system'), JSON.stringify(rest?.interaction));
      const names = (rest?.searchParam ?? []).map((p) => p.name);
      for (const name of ['_type', '_id', '_lastUpdated', '_tag', '_profile', '_security', '_source']) assert.ok(names.includes(name), `${name} in ${names}`);
    });
  });
}
