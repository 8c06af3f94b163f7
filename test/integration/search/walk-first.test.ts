// Walk-first pages (src/search/sql.ts walkStatement): whenever the bounded walk finds a full
// page, that page equals the normal statement's page, forwards and backwards through the
// cursors; when it does not, SearchEngine.run falls back. Generated Observations, real PostgreSQL.
import assert from 'node:assert/strict';
import { encodeCursor } from '../../../src/search/cursor.js';
import { SearchEngine } from '../../../src/search/engine.js';
import type { SearchQuery } from '../../../src/search/query.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import { pageStatement, walkFirstEligible, walkStatement, type SearchStatement } from '../../../src/search/sql.js';
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
        const positions = [undefined, ...all.slice(0, 12).map((r) => r.k0)];
        for (const position of positions) {
          for (const direction of ['after', 'before'] as const) {
            if (position === undefined && direction === 'before') continue;
            const query = { ...first, page: position === undefined ? undefined : encodeCursor(direction, [position]) };
            for (const walkRows of [5, 20, 1000]) {
              const walked = await run(store, walkStatement(query, tenant, walkRows));
              if (walked.length <= query.count) continue; // the engine falls back
              full++;
              assert.deepEqual(walked.map((r) => r.id), (await run(store, pageStatement(query, tenant))).map((r) => r.id), `${direction} ${position} walk ${walkRows}`);
            }
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
});
