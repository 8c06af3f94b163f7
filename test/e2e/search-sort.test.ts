// _sort on string, token, reference and uri parameters (FHIR R4 search.html#sort), in both
// database modes: normalized (case- and accent-insensitive) strings, missing values last in
// both directions, ties broken by id, several keys of mixed types, and keyset paging with
// _count=2 that stays exact while another client writes between pages.
import assert from 'node:assert/strict';
import type { Bundle, OperationOutcome } from 'fhir/r4.js';
import { assertOutcome, http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const idsOf = (bundle: Bundle) => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id as string);
const linkOf = (bundle: Bundle, relation: string) => bundle.link?.find((l) => l.relation === relation)?.url;
const PROFILE = 'http://example.org/fhir/StructureDefinition/';

/**
 * family (normalized): s-avila 'avila', s-dubois 'dubois', s-dupont 'dupont', s-eclair-1 and
 * s-eclair-2 'eclair' (a tie), s-zola 'zola', s-none none. Unnormalized, 'Ávila' would sort
 * after 'zola' and 'DUPONT' before 'Dubois', byte-wise.
 */
const PATIENTS = [
  { id: 's-eclair-2', name: [{ family: 'eclair', given: ['Zed'] }], gender: 'male', birthDate: '1980', managingOrganization: { reference: 'Organization/o-b' }, meta: { profile: [`${PROFILE}b`] } },
  { id: 's-eclair-1', name: [{ family: 'Éclair', given: ['Anne'] }], gender: 'female', birthDate: '1990', managingOrganization: { reference: 'Organization/o-a' } },
  { id: 's-dubois', name: [{ family: 'Dubois', given: ['Marc'] }], gender: 'male', birthDate: '1970', managingOrganization: { reference: 'Organization/o-b/_history/3' } },
  { id: 's-zola', name: [{ family: 'zola', given: ['Émile'] }], gender: 'other', meta: { profile: [`${PROFILE}a`, `${PROFILE}c`] } },
  { id: 's-none', name: [{ text: 'No Family', given: ['Bob'] }] },
  { id: 's-avila', name: [{ family: 'Ávila', given: ['Teresa'] }], gender: 'female', birthDate: '1515', managingOrganization: { reference: 'Organization/o-a' } },
  { id: 's-dupont', name: [{ family: 'DUPONT', given: ['Jean'] }], gender: 'male', birthDate: '1990', managingOrganization: { reference: 'Organization/o-c' }, meta: { profile: [`${PROFILE}b`] } },
];

const SORTS: [query: string, expected: string[]][] = [
  // string: normalized form; ties by id (asc); missing last both ways
  ['_sort=family', ['s-avila', 's-dubois', 's-dupont', 's-eclair-1', 's-eclair-2', 's-zola', 's-none']],
  ['_sort=-family', ['s-zola', 's-eclair-1', 's-eclair-2', 's-dupont', 's-dubois', 's-avila', 's-none']],
  ['_sort=-family,-_id', ['s-zola', 's-eclair-2', 's-eclair-1', 's-dupont', 's-dubois', 's-avila', 's-none']],
  // `given`: asc by each resource's smallest given name, desc by its largest (one each here)
  ['_sort=given', ['s-eclair-1', 's-none', 's-zola', 's-dupont', 's-dubois', 's-avila', 's-eclair-2']],
  // token: by code; then a date key descending, then id
  ['_sort=gender,-birthdate', ['s-eclair-1', 's-avila', 's-dupont', 's-eclair-2', 's-dubois', 's-zola', 's-none']],
  ['_sort=-gender,birthdate', ['s-zola', 's-dubois', 's-eclair-2', 's-dupont', 's-avila', 's-eclair-1', 's-none']],
  // reference: by the reference as written, unversioned (o-b/_history/3 counts as Organization/o-b)
  ['_sort=organization,_id', ['s-avila', 's-eclair-1', 's-dubois', 's-eclair-2', 's-dupont', 's-none', 's-zola']],
  ['_sort=-organization', ['s-dupont', 's-dubois', 's-eclair-2', 's-avila', 's-eclair-1', 's-none', 's-zola']],
  // uri (_profile): asc by the smallest URI, desc by the largest
  ['_sort=_profile', ['s-zola', 's-dupont', 's-eclair-2', 's-avila', 's-dubois', 's-eclair-1', 's-none']],
  ['_sort=-_profile', ['s-zola', 's-dupont', 's-eclair-2', 's-avila', 's-dubois', 's-eclair-1', 's-none']],
  // keys after _id change nothing: ids are unique
  ['_sort=-_id,family', ['s-zola', 's-none', 's-eclair-2', 's-eclair-1', 's-dupont', 's-dubois', 's-avila']],
];

for (const mode of DATABASE_MODES) {
  describe(`_sort on string, token, reference and uri parameters (${mode})`, function () {
    this.timeout(120_000); // the embedded database starts slowly on a loaded machine
    const hearth = useTestServer(mode);
    const tenant = hearth.useTenant();

    const put = async (resource: { id: string } & Record<string, unknown>, type = 'Patient') => {
      const res = await http(`${tenant.base}/${type}/${resource.id}`, { method: 'PUT', json: { resourceType: type, ...resource } });
      assert.ok(res.status === 200 || res.status === 201, res.text);
    };
    const get = async (url: string): Promise<Bundle> => {
      const res = await http<Bundle>(url);
      assert.equal(res.status, 200, res.text.slice(0, 500));
      return res.body;
    };
    /** Every page, following next links; `between` runs after the first page. */
    const all = async (query: string, between?: () => Promise<void>) => {
      let bundle = await get(`${tenant.base}/Patient?${query}`);
      const ids = idsOf(bundle);
      if (between) await between();
      for (let pages = 1; linkOf(bundle, 'next'); pages++) {
        assert.ok(pages < 30, 'runaway paging');
        bundle = await get(linkOf(bundle, 'next') as string);
        ids.push(...idsOf(bundle));
      }
      return ids;
    };

    beforeEach(async () => {
      for (const p of PATIENTS) await put(p);
    });

    it('orders by each type, whole and paged with _count=2, forwards and back', async () => {
      for (const [query, expected] of SORTS) {
        assert.deepEqual(await all(query), expected, query);
        assert.deepEqual(await all(`${query}&_count=2`), expected, `${query}&_count=2`);
        // the previous links walk the same pages backwards
        let bundle = await get(`${tenant.base}/Patient?${query}&_count=2`);
        const pages = [idsOf(bundle)];
        while (linkOf(bundle, 'next')) pages.push(idsOf((bundle = await get(linkOf(bundle, 'next') as string))));
        const back = [idsOf(bundle)];
        while (linkOf(bundle, 'previous')) back.unshift(idsOf((bundle = await get(linkOf(bundle, 'previous') as string))));
        assert.deepEqual(back, pages, `${query}: previous links`);
      }
    });

    it('paging by family with _count=2 while another client writes: every match once, in order', async () => {
      const seen = await all('_sort=family&_count=2', async () => {
        // after the first page (avila, dubois): one that sorts before the cursor (must not
        // appear), ties and later ones (must), one without a family (last), an unrelated change
        // to a seen one (must not reappear), a not-yet-seen one deleted
        await put({ id: 's-aaron', name: [{ family: 'Aaron' }] });
        await put({ id: 's-eclair-0', name: [{ family: 'ECLAIR' }] });
        await put({ id: 's-yves', name: [{ family: 'Yves' }] });
        await put({ id: 's-nameless' });
        await put({ ...PATIENTS.find((p) => p.id === 's-avila')!, gender: 'other' });
        assert.equal((await http(`${tenant.base}/Patient/s-zola`, { method: 'DELETE' })).status, 200);
      });
      assert.deepEqual(seen, ['s-avila', 's-dubois', 's-dupont', 's-eclair-0', 's-eclair-1', 's-eclair-2', 's-yves', 's-nameless', 's-none']);
    });

    it('a text sort key in a cursor may be any string; the id column is still checked', async () => {
      const cursor = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
      // '1e' (present values carry the prefix '1'): everything after 'e', i.e. from 'eclair' on
      const after = await get(`${tenant.base}/Patient?_sort=family&_page=${cursor(['>', '1e', 'a'])}`);
      assert.deepEqual(idsOf(after), ['s-eclair-1', 's-eclair-2', 's-zola', 's-none']);
      const odd = await get(`${tenant.base}/Patient?_sort=family&_page=${cursor(['>', "'; DROP TABLE patient; -- ☃ \\ %", 'x'])}`);
      assert.ok(Array.isArray(odd.entry ?? []));
      for (const values of [['>', '1e', 'bad id!'], ['>', 5, 'x'], ['>', 'a\u0000b', 'x'], ['>', '1e']]) {
        const res = await http<OperationOutcome>(`${tenant.base}/Patient?_sort=family&_page=${cursor(values)}`);
        assert.equal(res.status, 400, `${JSON.stringify(values)}: ${res.text.slice(0, 200)}`);
        assert.deepEqual(assertOutcome(res.body).issue[0].expression, ['_page']);
      }
    });

    it('composite and special parameters are 400 not-supported naming _sort', async () => {
      for (const [type, sort] of [['Observation', 'code-value-quantity'], ['Location', 'near'], ['Patient', '_text']]) {
        const res = await http<OperationOutcome>(`${tenant.base}/${type}?_sort=${sort}`);
        assert.equal(res.status, 400, `${type}?_sort=${sort}: ${res.text.slice(0, 200)}`);
        assertOutcome(res.body, 'not-supported');
        assert.deepEqual(res.body.issue[0].expression, ['_sort']);
      }
    });
  });
}
