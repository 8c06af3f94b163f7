// Chains and _has (search.html#chaining, #has) give the same matches whatever SQL shape
// src/search/plan.ts picks: for generated Patients, Organizations and Observations, each query
// runs unplanned (the original uncorrelated SQL) and with every planned shape forced (probe
// per target, set membership, correlated lookup; _has as an _id list or correlated), and
// through SearchEngine.run, which picks the shape itself. On real PostgreSQL.
import assert from 'node:assert/strict';
import type { Filter, SearchQuery } from '../../../src/search/query.js';
import { SearchEngine } from '../../../src/search/engine.js';
import { joinWalkEligible, planJoins } from '../../../src/search/plan.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import { pageStatement } from '../../../src/search/sql.js';
import { PgRepository } from '../../../src/storage/pg/pg-repository.js';
import type { ResourceStore, SearchSql } from '../../../src/storage/resource-store.js';
import { http } from '../../support/http.js';
import { prng } from '../../support/prng.js';
import { useTestServer } from '../../support/test-server.js';

const FAMILIES = ['Smith', 'Smythe', 'Jones', 'Núñez', 'Brown'];
const CODES = ['8867-4', '8480-6', '29463-7'];

const QUERIES: [string, string][] = [
  ['Observation', 'subject:Patient.name=smi'],
  ['Observation', 'subject:Patient.name=Jones&code=8867-4'],
  ['Observation', 'subject:Patient.gender=female'],
  ['Observation', 'subject:Patient.identifier=urn:mrn|MRN-3'],
  ['Observation', 'subject:Patient.identifier=urn:mrn|nobody'],
  ['Observation', 'subject:Patient.organization.name=Clinic 1'],
  ['Observation', 'patient.birthdate=lt1970'],
  ['Patient', '_has:Observation:patient:code=8867-4'],
  ['Patient', '_has:Observation:patient:code=29463-7&gender=male'],
  ['Patient', '_has:Observation:subject:value-quantity=gt150'],
  ['Patient', '_has:Observation:patient:code=no-such-code'],
  ['Organization', '_has:Patient:organization:_has:Observation:patient:code=8480-6'],
];

type Shape = { label: string; rewrite(filter: Filter, refs: string[]): Filter };

/** The shapes a top-level chain or _has filter can take; refs are the chain's matching targets. */
const SHAPES: Shape[] = [
  { label: 'probe', rewrite: (f, refs) => (f.kind === 'chain' ? { ...f, resolved: { refs, probe: true } } : f) },
  { label: 'membership', rewrite: (f, refs) => (f.kind === 'chain' ? { ...f, resolved: { refs, probe: false } } : f) },
  { label: 'correlated', rewrite: (f) => (f.kind === 'chain' || f.kind === 'has' ? { ...f, resolved: 'correlated' } : f) },
];

describe('chain and _has plans agree with the unplanned SQL (src/search/plan.ts)', function () {
  this.timeout(120_000);
  const fixture = useTestServer('postgres', { reindexWorker: false });
  let base = '';
  let tenant = '';

  before(async () => {
    base = await fixture.server.newTenantBase();
    tenant = new URL(base).pathname.split('/')[2];
    const random = prng(7);
    const put = async (resource: { resourceType: string; id: string }) => {
      const res = await http(`${base}/${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
      assert.ok(res.status < 300, res.text);
    };
    for (let o = 0; o < 3; o++) await put({ resourceType: 'Organization', id: `org-${o}`, name: `Clinic ${o}` } as never);
    for (let p = 0; p < 40; p++) {
      await put({
        resourceType: 'Patient',
        id: `pat-${p}`,
        identifier: [{ system: 'urn:mrn', value: `MRN-${p}` }],
        name: [{ family: FAMILIES[Math.floor(random() * FAMILIES.length)] }],
        gender: random() < 0.5 ? 'female' : 'male',
        birthDate: `${1940 + Math.floor(random() * 60)}-01-01`,
        managingOrganization: { reference: `Organization/org-${p % 3}` },
      } as never);
    }
    for (let i = 0; i < 160; i++) {
      const code = CODES[Math.floor(random() * CODES.length)];
      await put({
        resourceType: 'Observation',
        id: `obs-${i}`,
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code }] },
        subject: { reference: `Patient/pat-${Math.floor(random() * 44)}` }, // some refer to nobody
        valueQuantity: { value: Math.floor(random() * 200), unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
      } as never);
    }
  });

  const engine = () => new SearchEngine(createSearchRegistry(), { defaultCount: 500, maxCount: 500 });
  const withStore = <T>(work: (store: ResourceStore) => Promise<T>) => new PgRepository(fixture.server.server.database.pool).withTenant(tenant, work);
  const ids = async (store: ResourceStore, query: SearchQuery) => {
    const statement = pageStatement(query, store.tenantId, engine().registry.get(query.resourceType, '_lastUpdated'));
    return (await store.query<{ id: string }>(statement.text, statement.values)).map((r) => r.id).sort();
  };

  for (const [type, search] of QUERIES) {
    it(`${type}?${search}`, async () => {
      await withStore(async (store) => {
        const search_ = engine();
        const query = { ...search_.parse(type, new URLSearchParams(search), false), count: 500 };
        const expected = await ids(store, query);
        const planned = await planJoins(store, query);
        const refsOf = (i: number) => {
          const f = planned.filters[i];
          return f.kind === 'chain' && f.resolved !== 'correlated' && f.resolved ? f.resolved.refs : [];
        };
        for (const shape of SHAPES) {
          // A chain's refs come from the planner's own listing (always complete here: < PLAN_LIMIT).
          const filters = query.filters.map((f, i) => shape.rewrite(f, refsOf(i)));
          assert.deepEqual(await ids(store, { ...query, filters }), expected, `${shape.label} shape`);
        }
        assert.deepEqual(await ids(store, planned), expected, 'the planned shape');
        const viaEngine = (await search_.run(store, query)).matches.map((m) => m.id).sort();
        assert.deepEqual(viaEngine, expected, 'SearchEngine.run');
        if (!search.includes('nobody') && !search.includes('no-such')) assert.ok(expected.length > 0, 'the data exercises the query');
      });
    });
  }

  // Small pages through SearchEngine.run: the join walk (plan.ts) answers the broad ones, planning
  // the rest; every page, followed by its next and previous links, equals the unplanned SQL's.
  for (const [type, search] of QUERIES) {
    it(`${type}?${search}: pages of 3 through the engine, both directions`, async () => {
      await withStore(async (store) => {
        const search_ = engine();
        const query = { ...search_.parse(type, new URLSearchParams(search), false), count: 3 };
        assert.ok(joinWalkEligible(query));
        const statement = pageStatement({ ...query, count: 500 }, store.tenantId, search_.registry.get(type, '_lastUpdated'));
        const all = (await store.query<{ id: string }>(statement.text, statement.values)).map((r) => r.id);
        let page = await search_.run(store, query);
        for (let n = 0; n < 4; n++) {
          assert.deepEqual(page.matches.map((m) => m.id), all.slice(3 * n, 3 * n + 3), `page ${n}`);
          if (n > 0) {
            assert.ok(page.previous, `page ${n} has a previous link`);
            const back = await search_.run(store, { ...query, page: page.previous });
            assert.deepEqual(back.matches.map((m) => m.id), all.slice(3 * n - 3, 3 * n), `before page ${n}`);
          }
          if (!page.next) break;
          page = await search_.run(store, { ...query, page: page.next });
        }
      });
    });
  }

  /** PUTs Observations of `code`, the i-th on patient `patientOf(i)`, ten at a time. */
  const observations = async (code: string, count: number, patientOf: (i: number) => string) => {
    for (let i = 0; i < count; i += 10) {
      await Promise.all(Array.from({ length: Math.min(10, count - i) }, async (_, k) => {
        const id = `${code}-${i + k}`;
        const res = await http(`${base}/Observation/${id}`, {
          method: 'PUT',
          json: { resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, subject: { reference: `Patient/${patientOf(i + k)}` } },
        });
        assert.ok(res.status < 300, res.text);
      }));
    }
  };
  /** The engine's statements for `search` (a page of `count`), and the page. */
  const traced = (search: string, count: number) =>
    withStore(async (store) => {
      const statements: string[] = [];
      const spy: ResourceStore = Object.create(store, {
        query: { value: (text: SearchSql, values: unknown[]) => (statements.push(text), store.query(text, values)) },
      });
      const query = { ...engine().parse('Patient', new URLSearchParams(search), false), count };
      const page = await engine().run(spy, query);
      const next = page.next ? (await engine().run(store, { ...query, page: page.next })).matches.map((m) => m.id) : [];
      return { statements, ids: page.matches.map((m) => m.id), next };
    });
  const LISTING = / AS refs /;
  const WALK = /hearth_reference_probe/;

  it('answers a broad _has page from the join walk, without listing the sources first', async () => {
    await observations('broad-1', 120, (i) => `pat-${i % 40}`);
    const { statements, ids } = await traced('_has:Observation:patient:code=broad-1', 3);
    assert.equal(ids.length, 3);
    assert.equal(statements.length, 1, statements.join('\n'));
    assert.match(statements[0], WALK);
    // A selective chain does not fill a page from the walk and is planned: listing, then the page.
    await withStore(async (store) => {
      const statements2: string[] = [];
      const spy: ResourceStore = Object.create(store, {
        query: { value: (text: SearchSql, values: unknown[]) => (statements2.push(text), store.query(text, values)) },
      });
      const selective = { ...engine().parse('Observation', new URLSearchParams('subject:Patient.identifier=urn:mrn|MRN-3'), false), count: 3 };
      await engine().run(spy, selective);
      assert.ok(statements2.length >= 2, statements2.join('\n'));
    });
  });

  it('lists a _has whose walk met no match near the start, and answers it with one lookup when its sources are few', async () => {
    // Page order: pat-0, pat-1, pat-10 … pat-19, pat-2, pat-20 … pat-29, pat-3, … pat-9. A page
    // of 1 walks 20 rows first (up to pat-26); 'rare-1' is on pat-7 and pat-9 only.
    await observations('rare-1', 2, (i) => (i === 0 ? 'pat-7' : 'pat-9'));
    const { statements, ids, next } = await traced('_has:Observation:patient:code=rare-1', 1);
    assert.deepEqual([...ids, ...next], ['pat-7', 'pat-9']);
    assert.equal(statements.length, 3, statements.join('\n'));
    assert.match(statements[0], WALK);
    assert.match(statements[1], LISTING);
    assert.ok(!WALK.test(statements[2]) && !LISTING.test(statements[2]), statements[2]);
  });

  it('walks once more as far as the density it saw says a page lies, before listing the sources', async () => {
    // 'sparse-1' on pat-10 (third in page order: pat-0, pat-1, pat-10, …) and pat-3 (24th, after
    // pat-29). A page of 1 (2 rows wanted) walks 20 rows and finds 1: the second walk, of 60
    // rows, finds both, and the sources are never listed.
    await observations('sparse-1', 2, (i) => (i === 0 ? 'pat-10' : 'pat-3'));
    const { statements, ids, next } = await traced('_has:Observation:patient:code=sparse-1', 1);
    assert.deepEqual(ids, ['pat-10']);
    assert.deepEqual(next, ['pat-3']);
    assert.equal(statements.length, 2, statements.join('\n'));
    assert.ok(statements.every((s) => WALK.test(s) && !LISTING.test(s)), statements.join('\n'));
  });

  it('lists a _has as the ids its sources refer to, and a chain with its targets', async () => {
    await withStore(async (store) => {
      const query = engine().parse('Patient', new URLSearchParams('_has:Observation:patient:code=8867-4'), false);
      const [filter] = (await planJoins(store, query)).filters;
      assert.equal(filter.kind, 'id');
      const chain = engine().parse('Observation', new URLSearchParams('subject:Patient.identifier=urn:mrn|MRN-3'), false);
      const [planned] = (await planJoins(store, chain)).filters;
      assert.deepEqual(planned.kind === 'chain' && planned.resolved, { refs: ['Patient/pat-3'], probe: true });
    });
  });
});
