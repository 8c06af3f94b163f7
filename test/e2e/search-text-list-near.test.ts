// End-to-end `_content`, `_text` (FHIR R4 search.html#content, #text), `_list` (#list) and
// Location `near` (#special) against a real server in both database modes: exact sets of
// matching ids, the index following updates and deletes, tenant isolation, units, and bad
// input as a 400 OperationOutcome naming the parameter (or ignored under handling=lenient).
import assert from 'node:assert/strict';
import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from 'fhir/r4.js';
import { assertOutcome, http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const XHTML = 'http://www.w3.org/1999/xhtml';
const narrative = (text: string) => ({ status: 'generated', div: `<div xmlns="${XHTML}"><p>${text}</p></div>` });

// pat-a: the words only in structured data (name, identifier), "cardiac arrest" in its narrative.
// pat-b: "fevers" (plural) in the narrative, Toledo only in its address.
const PATIENTS = [
  { resourceType: 'Patient', id: 'pat-a', text: narrative('Admitted after a <b>cardiac arrest</b>.'), name: [{ family: 'Zanzibar', given: ['Ann'] }], identifier: [{ system: 'urn:mrn', value: 'MRN777' }], gender: 'female' },
  { resourceType: 'Patient', id: 'pat-b', text: narrative('Recurrent fevers in winter &amp; spring.'), name: [{ family: 'Quixote' }], address: [{ city: 'Toledo' }], gender: 'male' },
  { resourceType: 'Patient', id: 'pat-c', name: [{ family: 'Plain' }], gender: 'male' },
];
// Distances from Amsterdam centre (52.3676, 4.9041): Haarlem 17.64 km, Utrecht 34.16 km, Rotterdam 57.23 km.
const AMSTERDAM = '52.3676|4.9041';
const LOCATIONS = [
  { resourceType: 'Location', id: 'loc-ams', name: 'Amsterdam', position: { latitude: 52.3676, longitude: 4.9041 } },
  { resourceType: 'Location', id: 'loc-haarlem', name: 'Haarlem', position: { latitude: 52.3874, longitude: 4.6462 } },
  { resourceType: 'Location', id: 'loc-utrecht', name: 'Utrecht', position: { latitude: 52.0907, longitude: 5.1214 } },
  { resourceType: 'Location', id: 'loc-rotterdam', name: 'Rotterdam', position: { latitude: 51.9244, longitude: 4.4777 } },
  { resourceType: 'Location', id: 'loc-fiji', name: 'East of the antimeridian', position: { latitude: -17.7134, longitude: 179.9 } },
  { resourceType: 'Location', id: 'loc-nowhere', name: 'No position' },
];

async function put(base: string, resource: Resource & { id: string }): Promise<void> {
  const res = await http(`${base}/${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
  assert.ok(res.status === 200 || res.status === 201, `PUT ${resource.resourceType}/${resource.id}: ${res.status} ${res.text}`);
}

/** The sorted ids a search matches; `query` is given unencoded (`[name, value]` pairs). */
async function ids(base: string, type: string, ...query: [string, string][]): Promise<string[]> {
  const res = await http<Bundle>(`${base}/${type}?${new URLSearchParams(query)}`);
  assert.equal(res.status, 200, res.text.slice(0, 400));
  return (res.body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id as string).sort();
}

/** A 400 OperationOutcome whose issue names `expression`, with issue code `code`, mentioning `mention`. */
async function refused(base: string, type: string, query: [string, string], expression: string, mention: RegExp, code = 'invalid'): Promise<void> {
  const res = await http<OperationOutcome>(`${base}/${type}?${new URLSearchParams([query])}`);
  assert.equal(res.status, 400, `${type}?${query.join('=')}: ${res.text.slice(0, 300)}`);
  const outcome = assertOutcome(res.body, code);
  assert.deepEqual(outcome.issue[0].expression, [expression], JSON.stringify(outcome));
  assert.match(outcome.issue[0].diagnostics ?? '', mention);
}

for (const mode of DATABASE_MODES) {
  describe(`search: _content, _text, _list, near (${mode})`, function () {
    const hearth = useTestServer(mode);
    let base = '';

    before(async () => {
      base = await hearth.server.newTenantBase();
      for (const resource of [...PATIENTS, ...LOCATIONS]) await put(base, resource);
      await put(base, { resourceType: 'Observation', id: 'obs-1', status: 'final', code: { text: 'Zanzibar screening' }, subject: { reference: 'Patient/pat-a' } } as Resource & { id: string });
    });

    describe('_content (search.html#content)', () => {
      it('finds a word anywhere in the resource, in any case, and only in the resources that have it', async () => {
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'zanzibar']), ['pat-a']);
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'TOLEDO']), ['pat-b']); // address.city
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'mrn777']), ['pat-a']); // identifier.value
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'arrest']), ['pat-a']); // narrative text
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'nonexistentword']), []);
        assert.deepEqual(await ids(base, 'Observation', ['_content', 'zanzibar']), ['obs-1'], 'the type searched only');
      });

      it('reads websearch syntax: words AND, "phrases", or, -word; commas OR; repeats AND', async () => {
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'zanzibar ann']), ['pat-a']);
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'zanzibar toledo']), []);
        assert.deepEqual(await ids(base, 'Patient', ['_content', '"cardiac arrest"']), ['pat-a']);
        assert.deepEqual(await ids(base, 'Patient', ['_content', '"arrest cardiac"']), []);
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'zanzibar or toledo']), ['pat-a', 'pat-b']);
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'zanzibar,toledo']), ['pat-a', 'pat-b']);
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'zanzibar'], ['_content', 'toledo']), []);
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'male -toledo']), ['pat-c']);
        assert.deepEqual(await ids(base, 'Patient', ['_content', 'zanzibar,toledo'], ['gender', 'male']), ['pat-b']);
      });

      it('follows updates and deletes', async () => {
        const tenant = await hearth.server.newTenantBase();
        await put(tenant, { resourceType: 'Patient', id: 'p1', name: [{ family: 'Before' }] } as Resource & { id: string });
        assert.deepEqual(await ids(tenant, 'Patient', ['_content', 'before']), ['p1']);
        await put(tenant, { resourceType: 'Patient', id: 'p1', name: [{ family: 'After' }] } as Resource & { id: string });
        assert.deepEqual(await ids(tenant, 'Patient', ['_content', 'before']), []);
        assert.deepEqual(await ids(tenant, 'Patient', ['_content', 'after']), ['p1']);
        assert.equal((await http(`${tenant}/Patient/p1`, { method: 'DELETE' })).status < 300, true);
        assert.deepEqual(await ids(tenant, 'Patient', ['_content', 'after']), []);
      });
    });

    describe('_text (search.html#text)', () => {
      it('finds narrative words, stemmed, but not words only in structured data or in the markup', async () => {
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'fever']), ['pat-b']); // narrative says "fevers"
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'Fevers']), ['pat-b']);
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'cardiac arrest']), ['pat-a']); // across a <b> tag
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'zanzibar']), [], 'the name is structured data, not narrative');
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'toledo']), []);
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'xhtml']), [], 'not the markup');
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'amp']), [], 'not entities');
      });

      it('ORs comma-separated values and websearch `or`', async () => {
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'fever,arrest']), ['pat-a', 'pat-b']);
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'fever or arrest']), ['pat-a', 'pat-b']);
        assert.deepEqual(await ids(base, 'Patient', ['_text', 'fever arrest']), []);
      });
    });

    describe('_list (search.html#list)', () => {
      let other = '';
      before(async () => {
        await put(base, {
          resourceType: 'List', id: 'list-1', status: 'current', mode: 'working',
          entry: [{ item: { reference: 'Patient/pat-a' } }, { item: { reference: 'Patient/pat-c/_history/1' } }, { item: { reference: 'Observation/obs-1' } }, { item: { display: 'no reference' } }],
        } as Resource & { id: string });
        await put(base, { resourceType: 'List', id: 'list-2', status: 'current', mode: 'working', entry: [{ item: { reference: 'Patient/pat-b' } }] } as Resource & { id: string });
        other = await hearth.server.newTenantBase();
        await put(other, { resourceType: 'List', id: 'list-other', status: 'current', mode: 'working', entry: [{ item: { reference: 'Patient/pat-b' } }] } as Resource & { id: string });
      });

      it('returns exactly the listed resources of the searched type', async () => {
        assert.deepEqual(await ids(base, 'Patient', ['_list', 'list-1']), ['pat-a', 'pat-c']);
        assert.deepEqual(await ids(base, 'Observation', ['_list', 'list-1']), ['obs-1']);
        assert.deepEqual(await ids(base, 'Patient', ['_list', 'list-2']), ['pat-b']);
        assert.deepEqual(await ids(base, 'Patient', ['_list', 'list-1,list-2']), ['pat-a', 'pat-b', 'pat-c']);
        assert.deepEqual(await ids(base, 'Patient', ['_list', 'list-1'], ['gender', 'male']), ['pat-c']);
        assert.deepEqual(await ids(base, 'Patient', ['_list', 'no-such-list']), []);
      });

      it("does not see another tenant's Lists", async () => {
        assert.deepEqual(await ids(base, 'Patient', ['_list', 'list-other']), []);
        await put(other, { resourceType: 'List', id: 'list-1', status: 'current', mode: 'working', entry: [{ item: { reference: 'Patient/pat-b' } }] } as Resource & { id: string });
        assert.deepEqual(await ids(base, 'Patient', ['_list', 'list-1']), ['pat-a', 'pat-c'], 'the same List id elsewhere changes nothing');
        assert.deepEqual(await ids(other, 'Patient', ['_list', 'list-1']), [], 'the other tenant has no such Patients');
      });

      it('finds nothing once the List is deleted', async () => {
        await put(base, { resourceType: 'List', id: 'list-3', status: 'current', mode: 'working', entry: [{ item: { reference: 'Patient/pat-a' } }] } as Resource & { id: string });
        assert.deepEqual(await ids(base, 'Patient', ['_list', 'list-3']), ['pat-a']);
        assert.ok((await http(`${base}/List/list-3`, { method: 'DELETE' })).status < 300);
        assert.deepEqual(await ids(base, 'Patient', ['_list', 'list-3']), []);
      });
    });

    describe('near (search.html#special, Location-near)', () => {
      it('returns the Locations within the distance and not those outside', async () => {
        assert.deepEqual(await ids(base, 'Location', ['near', `${AMSTERDAM}|20|km`]), ['loc-ams', 'loc-haarlem']);
        assert.deepEqual(await ids(base, 'Location', ['near', `${AMSTERDAM}|40`]), ['loc-ams', 'loc-haarlem', 'loc-utrecht']);
        assert.deepEqual(await ids(base, 'Location', ['near', `${AMSTERDAM}|17.6`]), ['loc-ams']);
        assert.deepEqual(await ids(base, 'Location', ['near', AMSTERDAM]), ['loc-ams'], 'no distance: 5 km');
        assert.deepEqual(await ids(base, 'Location', ['near', `${AMSTERDAM}|1,51.9244|4.4777|1`]), ['loc-ams', 'loc-rotterdam']);
        assert.deepEqual(await ids(base, 'Location', ['near', '-17.7134|-179.9|22']), ['loc-fiji'], 'across the antimeridian (21.2 km)');
        assert.deepEqual(await ids(base, 'Location', ['near:missing', 'true']), ['loc-nowhere']);
      });

      it('converts units: m, [mi_i], mi', async () => {
        assert.deepEqual(await ids(base, 'Location', ['near', `${AMSTERDAM}|17700|m`]), ['loc-ams', 'loc-haarlem']);
        assert.deepEqual(await ids(base, 'Location', ['near', `${AMSTERDAM}|17600|m`]), ['loc-ams']);
        assert.deepEqual(await ids(base, 'Location', ['near', `${AMSTERDAM}|11|[mi_i]`]), ['loc-ams', 'loc-haarlem']); // 17.70 km
        assert.deepEqual(await ids(base, 'Location', ['near', `${AMSTERDAM}|10|mi`]), ['loc-ams']); // 16.09 km
      });

      it('follows a Location that moves', async () => {
        const tenant = await hearth.server.newTenantBase();
        await put(tenant, { resourceType: 'Location', id: 'l1', position: { latitude: 52.3676, longitude: 4.9041 } } as Resource & { id: string });
        assert.deepEqual(await ids(tenant, 'Location', ['near', `${AMSTERDAM}|1`]), ['l1']);
        await put(tenant, { resourceType: 'Location', id: 'l1', position: { latitude: 51.9244, longitude: 4.4777 } } as Resource & { id: string });
        assert.deepEqual(await ids(tenant, 'Location', ['near', `${AMSTERDAM}|1`]), []);
        assert.deepEqual(await ids(tenant, 'Location', ['near', '51.9244|4.4777|1']), ['l1']);
      });
    });

    describe('bad input (search.html#errors)', () => {
      const cases: [type: string, query: [string, string], expression: string, mention: RegExp, code?: string][] = [
        ['Patient', ['_content', ''], '_content', /needs a value/],
        ['Patient', ['_content', '   '], '_content', /needs a value/],
        ['Patient', ['_text', 'fever,'], '_text', /needs a value/],
        ['Patient', ['_content', 'a\u0000b'], '_content', /invalid characters/],
        ['Patient', ['_content', 'word '.repeat(500)], '_content', /longer than/],
        ['Patient', ['_content:exact', 'x'], '_content:exact', /not valid/],
        ['Bundle', ['_text', 'x'], '_text', /Unknown search parameter/],
        ['Patient', ['_list', ''], '_list', /needs the id of a List/],
        ['Patient', ['_list', 'a/b'], '_list', /not a valid List id/],
        ['Patient', ['_list', '$current-allergies'], '_list', /functional lists/, 'not-supported'],
        ['Location', ['near', 'abc'], 'near', /latitude\|longitude/],
        ['Location', ['near', '52.1|x|10'], 'near', /longitude 'x' is not a decimal/],
        ['Location', ['near', '91|0|10'], 'near', /outside -90\.\.90/],
        ['Location', ['near', '52|4|-1'], 'near', /negative/],
        ['Location', ['near', '52|4|10|furlong'], 'near', /unknown distance unit/],
        ['Location', ['near', '52|4|10|km|extra'], 'near', /latitude\|longitude/],
      ];
      for (const [type, query, expression, mention, code] of cases) {
        it(`${type}?${query[0]}=${JSON.stringify(query[1]).slice(0, 40)} -> 400 naming ${expression}`, async () => {
          await refused(base, type, query, expression, mention, code);
        });
      }

      it('Prefer: handling=lenient ignores the bad one, applies the good ones and reports it', async () => {
        const res = await http<Bundle>(`${base}/Patient?${new URLSearchParams([['_text', ''], ['_content', 'zanzibar,toledo'], ['gender', 'male']])}`, {
          headers: { prefer: 'handling=lenient' },
        });
        assert.equal(res.status, 200, res.text.slice(0, 300));
        const entries = res.body.entry ?? [];
        assert.deepEqual(entries.filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id), ['pat-b']);
        const outcome = entries.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome;
        assert.match(JSON.stringify(outcome.issue), /_text/);
      });
    });

    it('GET /metadata advertises _content, _text, _list and Location near', async () => {
      const res = await http<CapabilityStatement>(`${base}/metadata`);
      assert.equal(res.status, 200);
      const params = (type: string) => new Map(res.body.rest?.[0].resource?.find((r) => r.type === type)?.searchParam?.map((p) => [p.name, p.type]));
      const patient = params('Patient');
      assert.equal(patient.get('_content'), 'string');
      assert.equal(patient.get('_text'), 'string');
      assert.equal(patient.get('_list'), 'special');
      assert.equal(params('Location').get('near'), 'special');
      assert.equal(params('Bundle').has('_text'), false);
    });
  });
}
