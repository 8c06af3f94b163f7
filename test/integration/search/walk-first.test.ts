// Walk-first pages (src/search/sql.ts walkStatement): whenever the bounded walk finds a full
// page, that page equals the normal statement's page, forwards and backwards through the
// cursors; when it does not, SearchEngine.run falls back. Generated Observations, real PostgreSQL.
import assert from 'node:assert/strict';
import { encodeCursor } from '../../../src/search/cursor.js';
import { SearchEngine } from '../../../src/search/engine.js';
import type { SearchQuery } from '../../../src/search/query.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import { indexWalkEligible, pageStatement, walkFirstEligible, walkStatement } from '../../../src/search/sql.js';
import type { SearchStatement } from '../../../src/search/where-sql.js';
import { PgRepository } from '../../../src/storage/pg/pg-repository.js';
import type { ResourceStore } from '../../../src/storage/resource-store.js';
import { http } from '../../support/http.js';
import { prng } from '../../support/prng.js';
import { useTestServer } from '../../support/test-server.js';

const CODES = ['8867-4', '8480-6', '29463-7'];

describe('walk-first search pages agree with the normal statement (src/search/sql.ts)', function () {
  this.timeout(120_000);
  const fixture = useTestServer('postgres', { reindexWorker: false });
  let tenant = '';
  const engine = new SearchEngine(createSearchRegistry(), { defaultCount: 20, maxCount: 500 });
  const withStore = <T>(work: (store: ResourceStore) => Promise<T>) => new PgRepository(fixture.server.server.database.pool).withTenant(tenant, work);

  before(async () => {
    const base = await fixture.server.newTenantBase();
    tenant = new URL(base).pathname.split('/')[2];
    const random = prng(11);
    for (let i = 0; i < 150; i++) {
      const res = await http(`${base}/Observation/o-${String(i).padStart(3, '0')}`, {
        method: 'PUT',
        json: {
          resourceType: 'Observation',
          id: `o-${String(i).padStart(3, '0')}`,
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: CODES[Math.floor(random() * CODES.length)] }] },
          valueQuantity: { value: Math.floor(random() * 200), unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
          effectiveDateTime: `2020-0${1 + Math.floor(random() * 9)}-15`,
        },
      });
      assert.ok(res.status < 300, res.text);
    }
  });

  type Row = { id: string; k0: string };

  /** `first` continued from each of the first 12 positions of `all`, after and before: every cursor to try. */
  function pagedQueries(first: SearchQuery, all: Row[]): { query: SearchQuery; label: string }[] {
    const out = [{ query: first, label: 'first page' }];
    for (const position of all.slice(0, 12).map((r) => r.k0)) {
      for (const direction of ['after', 'before'] as const) out.push({ query: { ...first, page: encodeCursor(direction, [position]) }, label: `${direction} ${position}` });
    }
    return out;
  }
  const run = async (store: ResourceStore, statement: SearchStatement) => store.query<Row>(statement.text, statement.values);
  const parse = (search: string, count: number): SearchQuery => ({ ...engine.parse('Observation', new URLSearchParams(search), false), count });

  const SEARCHES = [
    'code=http://loinc.org|8867-4&value-quantity=gt100',
    'value-quantity=lt50',
    'code=8480-6&date=ge2020-05',
    'value-quantity=gt195',
    'code=29463-7&value-quantity=ge0&_sort=-_id',
  ];

  for (const search of SEARCHES) {
    it(`${search}: every full walk page is the normal page, in both directions`, async () => {
      await withStore(async (store) => {
        const first = parse(search, 4);
        assert.ok(walkFirstEligible(first));
        let full = 0;
        // Pages after and before positions taken from the full result: each cursor position, each direction.
        const all = await run(store, pageStatement({ ...first, count: 500 }, tenant));
        for (const { query, label } of pagedQueries(first, all)) {
          for (const walkRows of [5, 20, 1000]) {
            const walked = await run(store, walkStatement(query, tenant, walkRows));
            if (walked.length <= query.count) continue; // the engine falls back
            full++;
            assert.deepEqual(walked.map((r) => r.id), (await run(store, pageStatement(query, tenant))).map((r) => r.id), `${label} walk ${walkRows}`);
          }
        }
        if (all.length > 8) assert.ok(full > 0, 'some walks found a full page');
        // And the engine's answer, walk-first or fallback, is the normal first page.
        const page = await engine.run(store, first);
        assert.deepEqual(page.matches.map((m) => m.id), (await run(store, pageStatement(first, tenant))).slice(0, first.count).map((r) => r.id));
      });
    });
  }

  it('is used only for id-ordered searches with a range test and no filter naming resources', () => {
    assert.equal(walkFirstEligible(parse('code=8867-4&value-quantity=gt100', 20)), true);
    assert.equal(walkFirstEligible(parse('code=8867-4', 20)), false);
    assert.equal(walkFirstEligible(parse('value-quantity=gt100&_sort=date', 20)), false);
    assert.equal(walkFirstEligible(parse('value-quantity=gt100&subject=Patient/1', 20)), false);
    assert.equal(walkFirstEligible(parse('value-quantity=gt100&_id=a,b', 20)), false);
    assert.equal(walkFirstEligible(parse('value-quantity=gt100', 0)), false);
  });

  // Index walk (sql.ts indexWalkEligible): token-only searches walk a few rows in id order; a
  // value too rare to fill a page there is asked for in an order the primary key cannot give,
  // so the GIN index finds it. Same pages either way.
  const TOKEN_SEARCHES = ['code=http://loinc.org|8867-4', 'code=8480-6,29463-7', 'code=http://example.org|absent', 'code:not=8867-4'];

  for (const search of TOKEN_SEARCHES) {
    it(`${search}: the index-ordered page is the normal page, in both directions, and the engine returns it`, async () => {
      await withStore(async (store) => {
        const first = parse(search, 4);
        const all = await run(store, pageStatement({ ...first, count: 500 }, tenant));
        for (const { query, label } of pagedQueries(first, all)) {
          const normal = (await run(store, pageStatement(query, tenant))).map((r) => r.id);
          assert.deepEqual((await run(store, pageStatement(query, tenant, undefined, { onIndex: true }))).map((r) => r.id), normal, label);
        }
        const page = await engine.run(store, first);
        assert.deepEqual(page.matches.map((m) => m.id), all.slice(0, first.count).map((r) => r.id));
      });
    });
  }

  it('the index walk is for id-ordered searches with a GIN-answered filter, no range test and nothing naming resources', () => {
    assert.equal(indexWalkEligible(parse('code=8867-4', 20)), true);
    assert.equal(indexWalkEligible(parse('code=8867-4,8480-6&status=final', 20)), true);
    assert.equal(indexWalkEligible(parse('code=8867-4&value-quantity=gt100', 20)), false, 'walk-first has range tests');
    assert.equal(indexWalkEligible(parse('code=8867-4&_sort=date', 20)), false);
    assert.equal(indexWalkEligible(parse('code=8867-4&subject=Patient/1', 20)), false);
    assert.equal(indexWalkEligible(parse('code:not=8867-4', 20)), false, 'a negation is no GIN lookup');
    assert.equal(indexWalkEligible(parse('code:missing=true', 20)), false);
    assert.equal(indexWalkEligible(parse('code=8867-4', 0)), false);
  });

  it('an absent code is looked up through the GIN index, not by walking the table in id order', async () => {
    await withStore(async (store) => {
      const page = await engine.run(store, parse('code=http://example.org|absent', 20));
      assert.deepEqual(page.matches, []);
      const { sql, plan } = await engine.explain(store, parse('code=http://example.org|absent', 20));
      assert.match(sql, /ORDER BY \(r\.id \|\| ''\) ASC LIMIT/, 'the fallback orders by an expression the primary key cannot give');
      assert.doesNotMatch(plan, /Index Scan using \S*pkey/, plan);
    });
  });
});

