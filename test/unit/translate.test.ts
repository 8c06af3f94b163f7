// $translate's logic without a database (src/terminology/translate.ts, translate-cache.ts): the
// indexed map answers forward and reverse, unmapped modes, the result rule (some match neither
// unmatched nor disjoint), and the cache: a hit skips the definition lookup, a new generation or
// version misses, and it holds no more elements than its capacity.
import assert from 'node:assert/strict';
import type { ConceptMap } from 'fhir/r4.js';
import type { JsonObject } from '../../src/core/types.js';
import type { TerminologyStore } from '../../src/storage/terminology-store.js';
import type { TerminologyContext } from '../../src/terminology/definitions.js';
import { indexConceptMap, translateCodings } from '../../src/terminology/translate.js';
import { ConceptMapCache, conceptMapByUrl, conceptMapOfVersion } from '../../src/terminology/translate-cache.js';

const MAP: ConceptMap = {
  resourceType: 'ConceptMap',
  url: 'urn:map',
  status: 'active',
  group: [
    {
      source: 'urn:a',
      target: 'urn:b',
      element: [
        { code: '1', target: [{ code: 'one', equivalence: 'equivalent' }, { code: 'uno', equivalence: 'subsumes' }] },
        { code: '2', target: [{ code: 'two', equivalence: 'disjoint' }] },
      ],
      unmapped: { mode: 'provided' },
    },
    { source: 'urn:a', sourceVersion: '2', target: 'urn:c', element: [{ code: '1', target: [{ code: 'I', equivalence: 'equal' }] }] },
  ],
};

function context(maps: Record<string, JsonObject>, generations = { shared: '1', tenant: '1' }): TerminologyContext & { finds: number } {
  const ctx = {
    finds: 0,
    store: { generations: async () => generations } as unknown as TerminologyStore,
    definitions: {
      async find(_type: string, url: string) {
        ctx.finds++;
        return maps[url];
      },
    },
  };
  return ctx;
}

const codes = (r: Awaited<ReturnType<typeof translateCodings>>) => r.matches.map((m) => `${m.equivalence}:${m.concept?.system ?? ''}|${m.concept?.code ?? ''}`);

describe('$translate logic', () => {
  const ctx = context({});
  const map = indexConceptMap(MAP);

  it('forward: every target of the element, per group whose source (and version) fit; targetsystem narrows', async () => {
    assert.deepEqual(codes(await translateCodings(ctx, [map], { codings: [{ system: 'urn:a', code: '1' }], reverse: false })), [
      'equivalent:urn:b|one', 'subsumes:urn:b|uno', 'equal:urn:c|I',
    ]);
    assert.deepEqual(codes(await translateCodings(ctx, [map], { codings: [{ system: 'urn:a', version: '1', code: '1' }], reverse: false })), [
      'equivalent:urn:b|one', 'subsumes:urn:b|uno',
    ], 'a group of sourceVersion 2 is not for version 1');
    assert.deepEqual(codes(await translateCodings(ctx, [map], { codings: [{ system: 'urn:a', code: '1' }], targetSystem: 'urn:c', reverse: false })), ['equal:urn:c|I']);
  });

  it('unmapped provided gives the code itself; disjoint alone is result=false', async () => {
    const provided = await translateCodings(ctx, [map], { codings: [{ system: 'urn:a', code: '9' }], targetSystem: 'urn:b', reverse: false });
    assert.deepEqual(codes(provided), ['equal:urn:b|9']);
    assert.equal(provided.result, true);
    const disjoint = await translateCodings(ctx, [map], { codings: [{ system: 'urn:a', code: '2' }], targetSystem: 'urn:b', reverse: false });
    assert.equal(disjoint.result, false);
    assert.match(disjoint.message!, /is disjoint/);
  });

  it('reverse: sources of a target code, wider/narrower and subsumes/specializes turned around', async () => {
    const r = await translateCodings(ctx, [map], { codings: [{ system: 'urn:b', code: 'uno' }], reverse: true });
    assert.deepEqual(codes(r), ['specializes:urn:a|1']);
    assert.equal((await translateCodings(ctx, [map], { codings: [{ system: 'urn:a', code: '1' }], reverse: true })).result, false);
  });

  it('other-map loops end', async () => {
    const loop: ConceptMap = { resourceType: 'ConceptMap', url: 'urn:loop', status: 'active', group: [{ source: 'urn:a', target: 'urn:b', element: [], unmapped: { mode: 'other-map', url: 'urn:loop' } }] };
    const looping = context({ 'urn:loop': loop as unknown as JsonObject });
    const r = await translateCodings(looping, [indexConceptMap(loop)], { codings: [{ system: 'urn:a', code: 'x' }], reverse: false });
    assert.equal(r.result, false);
    assert.ok(looping.finds <= 4, `${looping.finds} lookups`);
  });

  it('the cache: a hit skips the lookup; another generation or tenant misses; a map is indexed once per version', async () => {
    const cache = new ConceptMapCache();
    const found = context({ 'urn:map': MAP as unknown as JsonObject });
    const first = await conceptMapByUrl(found, 't1', 'urn:map', undefined, cache);
    const again = await conceptMapByUrl(found, 't1', 'urn:map', undefined, cache);
    assert.equal(found.finds, 1);
    assert.equal(first, again);
    await conceptMapByUrl(found, 't2', 'urn:map', undefined, cache);
    assert.equal(found.finds, 2, 'keys name the tenant');
    const bumped = context({ 'urn:map': MAP as unknown as JsonObject }, { shared: '1', tenant: '2' });
    await conceptMapByUrl(bumped, 't1', 'urn:map', undefined, cache);
    assert.equal(bumped.finds, 1, 'a new generation misses');
    const untracked = context({ 'urn:map': MAP as unknown as JsonObject }, { shared: '0', tenant: '0' });
    await conceptMapByUrl(untracked, 't1', 'urn:map', undefined, cache);
    await conceptMapByUrl(untracked, 't1', 'urn:map', undefined, cache);
    assert.equal(untracked.finds, 2, 'generations never bumped are not cached on');
    const content = JSON.stringify(MAP);
    assert.equal(conceptMapOfVersion('t1', 'm', 1, content, cache), conceptMapOfVersion('t1', 'm', 1, content, cache));
    assert.notEqual(conceptMapOfVersion('t1', 'm', 1, content, cache), conceptMapOfVersion('t1', 'm', 2, content, cache));
  });

  it('the cache holds at most its capacity in elements, least recently used out first', () => {
    const cache = new ConceptMapCache(10); // MAP weighs 1 + 3 elements
    cache.set('a', map);
    cache.set('b', map);
    assert.equal(cache.size, 2);
    cache.get('a');
    cache.set('c', map);
    assert.equal(cache.size, 2);
    assert.ok(cache.get('a') && cache.get('c') && !cache.get('b'));
  });
});
