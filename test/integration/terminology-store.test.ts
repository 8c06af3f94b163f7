// Concept storage (migrations/0020, src/storage/pg/terminology-*.ts) on real PostgreSQL: a
// version loads whole with its reflexive closure, filters select by hierarchy, property, text
// and regex, shared content is read-only to a tenant, and a tenant never sees another's.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { PgSharedTerminology } from '../../src/storage/pg/shared-terminology.js';
import { CodeSystemAlreadyLoaded } from '../../src/storage/pg/terminology-writer.js';
import type { CodeSystemRef, ConceptSelection } from '../../src/storage/terminology-store.js';
import { codeSystemContent } from '../../src/terminology/code-system-content.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';
import { animals } from '../support/value-set-fixtures.js';

/** The fixture's hierarchy, plus D is-a C (a polyhierarchy): D is-a B and C; B and C are-a A; E is inactive under A. */
const sample = animals;

describe('terminology store (integration)', function () {
  let pool: pg.Pool;
  let repo: PgRepository;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
    repo = new PgRepository(pool);
  });

  async function loadForTenant(tenant: string, url: string): Promise<CodeSystemRef> {
    return repo.withTenant(tenant, async (store) => {
      const { header, concepts, edges } = codeSystemContent(sample(url));
      const writer = await store.terminology.beginCodeSystem(header);
      await writer.addConcepts(concepts);
      await writer.addParents([...edges, { child: 'D', parent: 'C' }]);
      const done = await writer.finish();
      assert.deepEqual(done, { concepts: 6, closureRows: 6 + 5 + 1 + 1 }); // self rows; A over B,C,D,E,Z; B over D; C over D
      return { id: writer.id, scope: 'tenant' as const };
    });
  }

  it('loads a version whole and answers hierarchy, property, text and regex selections', async () => {
    const tenant = await newTenant(pool);
    const url = `urn:test:cs:${randomUUID()}`;
    const cs = await loadForTenant(tenant, url);
    await repo.withTenant(tenant, async (store) => {
      const t = store.terminology;
      const [version] = await t.codeSystems(url);
      assert.equal(version.id, cs.id);
      assert.equal(version.conceptCount, 6);
      assert.equal(version.version, '1');
      assert.deepEqual(version.propertyDefs.map((p) => p.code), ['colour', 'inactive']);
      assert.equal(await t.subsumes(cs, 'A', 'D'), true);
      assert.equal(await t.subsumes(cs, 'C', 'D'), true, 'second parent');
      assert.equal(await t.subsumes(cs, 'D', 'A'), false);
      assert.equal(await t.subsumes(cs, 'B', 'B'), true, 'reflexive');
      assert.deepEqual(await t.neighbours(cs, 'D'), { parents: ['B', 'C'], children: [] });
      assert.deepEqual(await t.neighbours(cs, 'A'), { parents: [], children: ['B', 'C', 'E', 'Z'] });
      const codes = async (selection: Omit<ConceptSelection, 'limit'>) => (await t.selectConcepts(cs, { limit: 100, ...selection })).map((c) => c.code);
      assert.deepEqual(await codes({ filters: [{ property: 'concept', op: 'is-a', value: 'B' }] }), ['B', 'D']);
      assert.deepEqual(await codes({ filters: [{ property: 'concept', op: 'descendent-of', value: 'A' }] }), ['B', 'C', 'D', 'E', 'Z']);
      assert.deepEqual(await codes({ filters: [{ property: 'concept', op: 'is-not-a', value: 'B' }] }), ['A', 'C', 'E', 'Z']);
      assert.deepEqual(await codes({ filters: [{ property: 'concept', op: 'generalizes', value: 'D' }] }), ['A', 'B', 'C', 'D']);
      assert.deepEqual(await codes({ filters: [{ property: 'colour', op: '=', value: 'grey' }] }), ['C']);
      assert.deepEqual(await codes({ filters: [{ property: 'colour', op: 'in', value: 'grey,brown' }] }), ['B', 'C']);
      assert.deepEqual(await codes({ filters: [{ property: 'colour', op: 'exists', value: 'true' }, { property: 'concept', op: 'is-a', value: 'A' }] }), ['B', 'C']);
      assert.deepEqual(await codes({ filters: [{ property: 'concept', op: 'regex', value: '[AB]' }] }), ['A', 'B']);
      assert.deepEqual(await codes({ filters: [{ property: 'display', op: 'regex', value: '.*e' }] }), ['Z'], 'a regex matches the whole value');
      assert.deepEqual(await codes({ filters: [{ property: 'parent', op: '=', value: 'A' }] }), ['B', 'C', 'E', 'Z']);
      assert.deepEqual(await codes({ activeOnly: true, filters: [{ property: 'concept', op: 'is-a', value: 'A' }] }), ['A', 'B', 'C', 'D', 'Z']);
      assert.deepEqual(await codes({ text: 'ha' }), ['D'], 'a word prefix');
      assert.deepEqual(await codes({ text: 'bird PREY' }), ['B'], 'every word, any case');
      assert.deepEqual(await codes({ text: 'like' }), ['Z'], 'words split on punctuation');
      assert.deepEqual(await codes({ limit: 2, offset: 1 } as Omit<ConceptSelection, 'limit'>), ['B', 'C']);
      assert.equal(await t.countConcepts(cs, { filters: [{ property: 'concept', op: 'is-a', value: 'A' }] }, 3), 3, 'counting stops at the cap');
      const [b] = await t.concepts(cs, ['B']);
      assert.deepEqual(b.properties, [{ code: 'colour', type: 'code', value: 'brown', text: 'brown' }]);
      const [e] = await t.concepts(cs, ['E']);
      assert.equal(e.active, false);
    });
  });

  it('refuses loading a version twice unless replacing, and a code defined twice loads nothing', async () => {
    const tenant = await newTenant(pool);
    const url = `urn:test:cs:${randomUUID()}`;
    await loadForTenant(tenant, url);
    await assert.rejects(loadForTenant(tenant, url), CodeSystemAlreadyLoaded);
    await assert.rejects(
      repo.withTenant(tenant, async (store) => {
        const writer = await store.terminology.beginCodeSystem({ ...codeSystemContent(sample(url)).header, version: '2' });
        await writer.addConcepts([{ code: 'X' }, { code: 'X' }]);
      }),
      /defined twice/,
    );
    await repo.withTenant(tenant, async (store) => assert.deepEqual((await store.terminology.codeSystems(url)).map((v) => v.version), ['1']));
  });

  it('keeps a tenant to its own and the shared content, which it cannot write', async () => {
    const [one, two] = [await newTenant(pool), await newTenant(pool)];
    const url = `urn:test:cs:${randomUUID()}`;
    const cs = await loadForTenant(one, url);
    await repo.withTenant(two, async (store) => {
      assert.deepEqual(await store.terminology.codeSystems(url), [], "another tenant's version is invisible");
      assert.equal(await store.terminology.subsumes(cs, 'A', 'D'), false, 'even by its id');
      assert.deepEqual(await store.terminology.selectConcepts(cs, { limit: 10 }), []);
    });
    const sharedUrl = `urn:test:shared:${randomUUID()}`;
    await new PgSharedTerminology(pool).write(async (writer) => {
      const { header, concepts, edges } = codeSystemContent(sample(sharedUrl), 'test');
      const w = await writer.beginCodeSystem(header);
      await w.addConcepts(concepts);
      await w.addParents(edges);
      await w.finish();
      await writer.putResource('ValueSet', { resourceType: 'ValueSet', id: 'vs', url: `${sharedUrl}/vs`, status: 'active' }, 'test');
      await writer.bumpGeneration();
    });
    await repo.withTenant(two, async (store) => {
      const [shared] = await store.terminology.codeSystems(sharedUrl);
      assert.equal(shared.scope, 'shared');
      assert.equal(await store.terminology.subsumes(shared, 'A', 'D'), true);
      assert.equal((await store.terminology.sharedResources('ValueSet', `${sharedUrl}/vs`)).length, 1);
    });
    await assert.rejects(
      repo.withTenant(two, async (store) => {
        const client = (store as unknown as { client: pg.ClientBase }).client;
        await client.query("INSERT INTO terminology_concept (code_system_id, code) SELECT id, 'hack' FROM terminology_code_system LIMIT 1");
      }),
      /permission denied/,
      'the app role cannot write shared terminology',
    );
  });

  it('caches an expansion once per fingerprint and pages and filters it', async () => {
    const tenant = await newTenant(pool);
    await repo.withTenant(tenant, async (store) => {
      const t = store.terminology;
      const codes = [
        { system: 'urn:s', code: 'a', display: 'Alpha one' },
        { system: 'urn:s', code: 'b', display: 'Beta' },
        { system: 'urn:t', code: 'a', display: 'Alpha two', inactive: true },
      ];
      const saved = await t.saveExpansion('fp1', { url: 'urn:vs' }, codes);
      assert.deepEqual(await t.saveExpansion('fp1', { url: 'urn:vs' }, []), saved, 'the first one stays');
      assert.deepEqual(await t.findExpansion('fp1'), saved);
      assert.equal(await t.findExpansion('fp2'), undefined);
      assert.deepEqual(await t.expansionPage(saved.id, { offset: 1, count: 1 }), { codes: [codes[1]], total: 3 });
      assert.deepEqual((await t.expansionPage(saved.id, { text: 'alp', offset: 0, count: 10 })).codes.map((c) => c.system), ['urn:s', 'urn:t']);
      assert.deepEqual(await t.expansionPage(saved.id, { offset: 5, count: 10 }), { codes: [], total: 3 });
      assert.deepEqual(await t.expansionPage(saved.id, { offset: 0, count: 0 }), { codes: [], total: 3 }, 'count=0 still says how many');
      assert.deepEqual(await t.expansionPage(saved.id, { text: 'gamma', offset: 0, count: 10 }), { codes: [], total: 0 });
      assert.deepEqual(await t.expansionContains(saved.id, 'urn:t', 'a'), codes[2]);
      assert.equal(await t.expansionContains(saved.id, 'urn:u', 'a'), undefined);
      const before = await t.generations();
      await t.bumpGeneration();
      assert.equal(Number((await t.generations()).tenant), Number(before.tenant) + 1);
    });
  });
});
