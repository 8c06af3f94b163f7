// ConceptMap $translate (FHIR R4 conceptmap-operations.html#translate; src/fhir/operations/
// concept-map-translate.ts) on a running server: by url, instance, inline map, or the maps found by
// source/target value sets and systems; GET and POST; reverse, targetsystem, products, unmapped
// (provided, fixed, other-map); result=false and 404/400 answers; tenant isolation, shared maps,
// a changed map answering at once; and fhir-kit-client calling $lookup and $translate.
import assert from 'node:assert/strict';
import type { OperationOutcome, Parameters, ParametersParameter } from 'fhir/r4.js';
import { Client, type FhirResource } from 'fhir-kit-client';
import { assertOutcome, http } from '../support/http.js';
import { useTestServer } from '../support/test-server.js';
import { loadShared, loadTenantCodeSystem, named, one, parameters, part, tenantOfBase, uniqueUrl } from './code-system-operations-fixtures.js';

const enc = encodeURIComponent;

/** A Parameters answer, or an OperationOutcome's issues when it failed. */
type Reply = Parameters & Pick<OperationOutcome, 'issue'>;

interface Systems {
  map: string;
  a: string;
  b: string;
  c: string;
  vsA: string;
  vsB: string;
}

function newSystems(): Systems {
  return { map: uniqueUrl('cm'), a: uniqueUrl('csA'), b: uniqueUrl('csB'), c: uniqueUrl('csC'), vsA: uniqueUrl('vsA'), vsB: uniqueUrl('vsB') };
}

/** A → B (with a product, an unmatched code and a fixed fallback) and A → C (codes provided as they are). */
function sampleMap(s: Systems, animal = 'animal'): Record<string, unknown> {
  return {
    resourceType: 'ConceptMap',
    url: s.map,
    version: '1',
    status: 'active',
    sourceUri: s.vsA,
    targetUri: s.vsB,
    group: [
      {
        source: s.a,
        target: s.b,
        element: [
          { code: 'A', display: 'Animal', target: [{ code: animal, display: 'Animalia', equivalence: 'equivalent' }] },
          { code: 'B', target: [{ code: 'raptor', equivalence: 'wider', product: [{ property: 'http://example.org/flies', system: s.b, value: 'yes' }] }] },
          { code: 'E', target: [{ equivalence: 'unmatched', comment: 'extinct' }] },
        ],
        unmapped: { mode: 'fixed', code: 'other', display: 'Other animal' },
      },
      { source: s.a, target: s.c, element: [{ code: 'C', target: [{ code: 'cat', equivalence: 'equal' }] }], unmapped: { mode: 'provided' } },
    ],
  };
}

/** match parameters as [equivalence, system|code, source] */
const matchesOf = (body: Parameters): [string | undefined, string, string | undefined][] =>
  named(body, 'match').map((m: ParametersParameter) => {
    const concept = part(m, 'concept')?.valueCoding;
    return [part(m, 'equivalence')?.valueCode, concept ? `${concept.system}|${concept.code}` : '', part(m, 'source')?.valueUri];
  });

describe('ConceptMap $translate (e2e, postgres)', function () {
  this.timeout(60_000);
  const hearth = useTestServer('postgres', { audit: 'off', reindexWorker: false });
  const tenant = hearth.useTenant();

  const get = (path: string, base = tenant.base) => http<Reply>(`${base}/${path}`);
  const post = (path: string, body: Parameters) => http<Reply>(`${tenant.base}/${path}`, { method: 'POST', json: body });

  async function store(resource: Record<string, unknown>, base = tenant.base): Promise<string> {
    const created = await http(`${base}/${resource.resourceType as string}`, { method: 'POST', json: resource });
    assert.equal(created.status, 201, created.text);
    return created.body.id;
  }

  it('GET by url: matches with equivalence, concept and source; products; fixed and provided unmapped; targetsystem', async () => {
    const s = newSystems();
    await store(sampleMap(s));
    const translate = (query: string) => get(`ConceptMap/$translate?url=${enc(s.map)}&system=${enc(s.a)}&${query}`);
    const a = await translate('code=A');
    assert.equal(a.status, 200, a.text);
    assert.equal(one(a.body, 'result').valueBoolean, true);
    assert.deepEqual(named(a.body, 'message'), []);
    assert.deepEqual(matchesOf(a.body), [['equivalent', `${s.b}|animal`, s.map], ['equal', `${s.c}|A`, s.map]]);
    assert.equal(part(named(a.body, 'match')[0], 'concept')?.valueCoding?.display, 'Animalia');
    const onlyB = await translate(`code=A&targetsystem=${enc(s.b)}`);
    assert.deepEqual(matchesOf(onlyB.body), [['equivalent', `${s.b}|animal`, s.map]]);
    const b = await translate(`code=B&targetsystem=${enc(s.b)}`);
    const product = part(named(b.body, 'match')[0], 'product')!;
    assert.equal(part(product, 'element')?.valueUri, 'http://example.org/flies');
    assert.deepEqual(part(product, 'concept')?.valueCoding, { system: s.b, code: 'yes' });
    const z = await translate(`code=Z&targetsystem=${enc(s.b)}`);
    assert.deepEqual(matchesOf(z.body), [['relatedto', `${s.b}|other`, s.map]], 'fixed unmapped');
    const e = await translate(`code=E&targetsystem=${enc(s.b)}`);
    assert.equal(one(e.body, 'result').valueBoolean, false, 'unmatched is no translation');
    assert.deepEqual(matchesOf(e.body), [['unmatched', '', s.map]]);
    assert.match(one(e.body, 'message').valueString!, /unmatched/);
    const versioned = await get(`ConceptMap/$translate?url=${enc(`${s.map}|1`)}&system=${enc(s.a)}&code=C&targetsystem=${enc(s.c)}`);
    assert.deepEqual(matchesOf(versioned.body), [['equal', `${s.c}|cat`, s.map]]);
    const wrongVersion = await get(`ConceptMap/$translate?url=${enc(s.map)}&conceptMapVersion=2&system=${enc(s.a)}&code=C`);
    assert.equal(wrongVersion.status, 404);
  });

  it('reverse: the source concepts mapped to a target code, equivalence turned around', async () => {
    const s = newSystems();
    await store(sampleMap(s));
    const animal = await get(`ConceptMap/$translate?url=${enc(s.map)}&system=${enc(s.b)}&code=animal&reverse=true`);
    assert.equal(one(animal.body, 'result').valueBoolean, true);
    assert.deepEqual(matchesOf(animal.body), [['equivalent', `${s.a}|A`, s.map]]);
    const raptor = await get(`ConceptMap/$translate?url=${enc(s.map)}&system=${enc(s.b)}&code=raptor&reverse=true`);
    assert.deepEqual(matchesOf(raptor.body), [['narrower', `${s.a}|B`, s.map]]);
    const none = await get(`ConceptMap/$translate?url=${enc(s.map)}&system=${enc(s.b)}&code=nothing&reverse=true`);
    assert.equal(one(none.body, 'result').valueBoolean, false);
    assert.deepEqual(named(none.body, 'match'), []);
  });

  it('POST with a coding, a codeableConcept, or an inline conceptMap', async () => {
    const s = newSystems();
    await store(sampleMap(s));
    const coding = await post('ConceptMap/$translate', parameters(
      { name: 'url', valueUri: s.map },
      { name: 'coding', valueCoding: { system: s.a, code: 'A' } },
      { name: 'targetsystem', valueUri: s.b },
    ));
    assert.equal(coding.status, 200, coding.text);
    assert.deepEqual(matchesOf(coding.body), [['equivalent', `${s.b}|animal`, s.map]]);
    const concept = await post('ConceptMap/$translate', parameters(
      { name: 'url', valueUri: s.map },
      { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: s.a, code: 'A' }, { system: s.a, code: 'B' }] } },
      { name: 'targetsystem', valueUri: s.b },
    ));
    assert.deepEqual(matchesOf(concept.body).map(([, c]) => c), [`${s.b}|animal`, `${s.b}|raptor`]);
    const inline = await post('ConceptMap/$translate', parameters(
      { name: 'conceptMap', resource: sampleMap(s, 'beast') as never },
      { name: 'system', valueUri: s.a },
      { name: 'code', valueCode: 'A' },
      { name: 'targetsystem', valueUri: s.b },
    ));
    assert.deepEqual(matchesOf(inline.body), [['equivalent', `${s.b}|beast`, s.map]]);
  });

  it('at instance level (GET and POST)', async () => {
    const s = newSystems();
    const id = await store(sampleMap(s));
    const res = await get(`ConceptMap/${id}/$translate?system=${enc(s.a)}&code=C&targetsystem=${enc(s.c)}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(matchesOf(res.body), [['equal', `${s.c}|cat`, s.map]]);
    const posted = await post(`ConceptMap/${id}/$translate`, parameters({ name: 'coding', valueCoding: { system: s.a, code: 'B' } }, { name: 'targetsystem', valueUri: s.b }));
    assert.deepEqual(matchesOf(posted.body), [['wider', `${s.b}|raptor`, s.map]]);
    assert.equal((await get(`ConceptMap/nope/$translate?system=${enc(s.a)}&code=A`)).status, 404);
    const otherUrl = await get(`ConceptMap/${id}/$translate?url=${enc(uniqueUrl('cm'))}&system=${enc(s.a)}&code=A`);
    assert.equal(otherUrl.status, 400);
    assert.deepEqual(otherUrl.body.issue[0].expression, ['url']);
  });

  it('without a url: the maps whose source and target value sets and systems fit', async () => {
    const s = newSystems();
    await store(sampleMap(s));
    const decoy = { ...sampleMap(s, 'decoy'), url: uniqueUrl('cm'), sourceUri: uniqueUrl('vs') };
    await store(decoy);
    const both = await get(`ConceptMap/$translate?system=${enc(s.a)}&code=A&targetsystem=${enc(s.b)}`);
    assert.deepEqual(matchesOf(both.body).map(([, c]) => c).sort(), [`${s.b}|animal`, `${s.b}|decoy`]);
    const bySource = await get(`ConceptMap/$translate?system=${enc(s.a)}&code=A&source=${enc(s.vsA)}&target=${enc(s.vsB)}&targetsystem=${enc(s.b)}`);
    assert.deepEqual(matchesOf(bySource.body), [['equivalent', `${s.b}|animal`, s.map]]);
    const reverse = await get(`ConceptMap/$translate?system=${enc(s.b)}&code=animal&reverse=true&source=${enc(s.vsB)}`);
    assert.deepEqual(matchesOf(reverse.body), [['equivalent', `${s.a}|A`, s.map]]);
    const noMap = await get(`ConceptMap/$translate?system=${enc(uniqueUrl('cs'))}&code=A`);
    assert.equal(noMap.status, 200);
    assert.equal(one(noMap.body, 'result').valueBoolean, false);
    assert.match(one(noMap.body, 'message').valueString!, /No ConceptMap applies/);
  });

  it('other-map: a group without an element for the code hands it to the map unmapped.url names', async () => {
    const s = newSystems();
    const second = { resourceType: 'ConceptMap', url: uniqueUrl('cm'), status: 'active', group: [{ source: s.a, target: s.b, element: [{ code: 'Q', target: [{ code: 'queen', equivalence: 'equivalent' }] }] }] };
    const first = { resourceType: 'ConceptMap', url: s.map, status: 'active', group: [{ source: s.a, target: s.b, element: [{ code: 'A', target: [{ code: 'animal', equivalence: 'equivalent' }] }], unmapped: { mode: 'other-map', url: second.url } }] };
    await store(second);
    await store(first);
    const res = await get(`ConceptMap/$translate?url=${enc(s.map)}&system=${enc(s.a)}&code=Q`);
    assert.deepEqual(matchesOf(res.body), [['equivalent', `${s.b}|queen`, second.url]]);
  });

  it('errors: unknown url → 404; missing code or system → 400 naming it; a bad reverse → 400; an unknown parameter → 400', async () => {
    const s = newSystems();
    await store(sampleMap(s));
    const unknown = await get(`ConceptMap/$translate?url=${enc(uniqueUrl('cm'))}&system=${enc(s.a)}&code=A`);
    assert.equal(unknown.status, 404);
    assertOutcome(unknown.body, 'not-found');
    const noCode = await get(`ConceptMap/$translate?url=${enc(s.map)}&system=${enc(s.a)}`);
    assert.equal(noCode.status, 400);
    assert.deepEqual(noCode.body.issue[0].expression, ['code']);
    const noSystem = await post('ConceptMap/$translate', parameters({ name: 'url', valueUri: s.map }, { name: 'code', valueCode: 'A' }));
    assert.equal(noSystem.status, 400);
    assert.deepEqual(noSystem.body.issue[0].expression, ["Parameters.parameter.where(name='system')"]);
    const badReverse = await get(`ConceptMap/$translate?url=${enc(s.map)}&system=${enc(s.a)}&code=A&reverse=maybe`);
    assert.equal(badReverse.status, 400);
    assert.deepEqual(badReverse.body.issue[0].expression, ['reverse']);
    const stray = await get(`ConceptMap/$translate?url=${enc(s.map)}&system=${enc(s.a)}&code=A&dependency=x`);
    assert.equal(stray.status, 400);
    const inlineOnGet = await get(`ConceptMap/$translate?conceptMap=x&system=${enc(s.a)}&code=A`);
    assert.equal(inlineOnGet.status, 400);
  });

  it("keeps a tenant's maps from another tenant; shared maps answer every tenant; a changed map answers at once", async () => {
    const s = newSystems();
    const id = await store(sampleMap(s));
    const query = `ConceptMap/$translate?url=${enc(s.map)}&system=${enc(s.a)}&code=A&targetsystem=${enc(s.b)}`;
    assert.deepEqual(matchesOf((await get(query)).body), [['equivalent', `${s.b}|animal`, s.map]]);
    const other = await hearth.server.newTenantBase();
    assert.equal((await get(query, other)).status, 404);
    const noUrl = await get(`ConceptMap/$translate?system=${enc(s.a)}&code=A`, other);
    assert.equal(one(noUrl.body, 'result').valueBoolean, false);

    const updated = await http(`${tenant.base}/ConceptMap/${id}`, { method: 'PUT', json: { ...sampleMap(s, 'creature'), id } });
    assert.equal(updated.status, 200, updated.text);
    assert.deepEqual(matchesOf((await get(query)).body), [['equivalent', `${s.b}|creature`, s.map]], 'not the cached map');

    const shared = newSystems();
    await loadShared(uniqueUrl('shared-cs'), [sampleMap(shared, 'shared-animal')]);
    for (const base of [tenant.base, other]) {
      const res = await get(`ConceptMap/$translate?url=${enc(shared.map)}&system=${enc(shared.a)}&code=A&targetsystem=${enc(shared.b)}`, base);
      assert.deepEqual(matchesOf(res.body), [['equivalent', `${shared.b}|shared-animal`, shared.map]]);
    }
    // The tenant's own map of the same url wins over the shared one.
    await store(sampleMap(shared, 'own-animal'), other);
    const own = await get(`ConceptMap/$translate?url=${enc(shared.map)}&system=${enc(shared.a)}&code=A&targetsystem=${enc(shared.b)}`, other);
    assert.deepEqual(matchesOf(own.body), [['equivalent', `${shared.b}|own-animal`, shared.map]]);
  });

  it('fhir-kit-client calls $lookup and $translate', async () => {
    const s = newSystems();
    const csUrl = uniqueUrl('cs');
    await loadTenantCodeSystem(tenantOfBase(tenant.base), csUrl);
    await store(sampleMap(s));
    const client = new Client({ baseUrl: tenant.base });
    const lookup = (await client.operation({ name: '$lookup', resourceType: 'CodeSystem', method: 'GET', input: { system: csUrl, code: 'D' } })) as Parameters;
    assert.equal(one(lookup, 'display').valueString, 'Desert hawk');
    const posted = (await client.operation({
      name: 'lookup', resourceType: 'CodeSystem', input: parameters({ name: 'coding', valueCoding: { system: csUrl, code: 'B' } }, { name: 'property', valueCode: 'child' }) as unknown as FhirResource,
    })) as Parameters;
    assert.equal(one(posted, 'display').valueString, 'Bird of prey');
    const translated = (await client.operation({
      name: '$translate', resourceType: 'ConceptMap', method: 'GET', input: { url: s.map, system: s.a, code: 'B', targetsystem: s.b },
    })) as Parameters;
    assert.equal(one(translated, 'result').valueBoolean, true);
    assert.deepEqual(matchesOf(translated), [['wider', `${s.b}|raptor`, s.map]]);
    const viaPost = (await client.operation({
      name: 'translate', resourceType: 'ConceptMap', input: parameters({ name: 'url', valueUri: s.map }, { name: 'coding', valueCoding: { system: s.a, code: 'A' } }, { name: 'targetsystem', valueUri: s.b }) as unknown as FhirResource,
    })) as Parameters;
    assert.deepEqual(matchesOf(viaPost), [['equivalent', `${s.b}|animal`, s.map]]);
  });
});
