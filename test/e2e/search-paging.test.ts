// Keyset paging links of searchset Bundles (search.html#paging): next and previous walk the
// same pages in both directions, in both database modes.
import assert from 'node:assert/strict';
import type { Bundle } from 'fhir/r4.js';
import { http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const linkOf = (bundle: Bundle, relation: string) => bundle.link?.find((l) => l.relation === relation)?.url;
const idsOf = (bundle: Bundle) => (bundle.entry ?? []).map((e) => e.resource?.id);

for (const mode of DATABASE_MODES) {
  describe(`search paging links (${mode})`, function () {
    const hearth = useTestServer(mode);
    const tenant = hearth.useTenant();

    async function get(url: string): Promise<Bundle> {
      const res = await http<Bundle>(url);
      assert.equal(res.status, 200, res.text);
      return res.body;
    }

    it('next then previous returns the same pages, with no previous link on the first page', async () => {
      for (let i = 0; i < 8; i++) {
        const res = await http(`${tenant.base}/Patient/p${i}`, { method: 'PUT', json: { resourceType: 'Patient', id: `p${i}`, birthDate: `19${50 + i}-01-01` } });
        assert.equal(res.status, 201);
      }
      const page1 = await get(`${tenant.base}/Patient?_sort=-birthdate&_count=3`);
      assert.deepEqual(idsOf(page1), ['p7', 'p6', 'p5']);
      assert.equal(linkOf(page1, 'previous'), undefined, 'the first page has no previous page');
      const page2 = await get(linkOf(page1, 'next') as string);
      assert.deepEqual(idsOf(page2), ['p4', 'p3', 'p2']);
      const page3 = await get(linkOf(page2, 'next') as string);
      assert.deepEqual(idsOf(page3), ['p1', 'p0']);
      assert.equal(linkOf(page3, 'next'), undefined, 'the last page has no next page');

      const back2 = await get(linkOf(page3, 'previous') as string);
      assert.deepEqual(idsOf(back2), ['p4', 'p3', 'p2']);
      const back1 = await get(linkOf(back2, 'previous') as string);
      assert.deepEqual(idsOf(back1), ['p7', 'p6', 'p5']);
      assert.equal(linkOf(back1, 'previous'), undefined, 'reached the start going backwards');
      const forwardAgain = await get(linkOf(back1, 'next') as string);
      assert.deepEqual(idsOf(forwardAgain), ['p4', 'p3', 'p2']);
    });

    it('previous stays exact when a resource sorting before the page is added meanwhile', async () => {
      for (let i = 0; i < 6; i++) {
        await http(`${tenant.base}/Patient/q${i}`, { method: 'PUT', json: { resourceType: 'Patient', id: `q${i}` } });
      }
      const page1 = await get(`${tenant.base}/Patient?_sort=_id&_count=2`);
      const page2 = await get(linkOf(page1, 'next') as string);
      assert.deepEqual(idsOf(page2), ['q2', 'q3']);
      await http(`${tenant.base}/Patient/q1a`, { method: 'PUT', json: { resourceType: 'Patient', id: 'q1a' } });
      const back = await get(linkOf(page2, 'previous') as string);
      assert.deepEqual(idsOf(back), ['q1', 'q1a'], 'the page just before q2, as it is now');
    });
  });
}
