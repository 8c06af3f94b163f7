// The expansion engine (src/terminology/expand.ts, expansion-*.ts) on real PostgreSQL: every
// compose shape (concept lists, each filter operator, whole systems, imports, excludes), the
// cycle guard, activeOnly, displayLanguage, the size limit, the cache (reuse and invalidation by
// generation), text filter and paging, READ ONLY transactions, and membership checks.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { FhirError } from '../../src/core/errors.js';
import type { JsonObject } from '../../src/core/types.js';
import { NeedsWritableTransaction, type ResourceStore } from '../../src/storage/resource-store.js';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import type { TerminologyContext } from '../../src/terminology/definitions.js';
import { cachedExpansion, expansionMember, expansionPage, expansionWarnings, type ExpansionParams } from '../../src/terminology/expand.js';
import { validateInValueSet } from '../../src/terminology/value-set-validate.js';
import { newTenant, testPool } from '../support/database.js';
import { animals, loadCodeSystem } from '../support/value-set-fixtures.js';
import { requireServices } from '../support/services.js';

async function rejectsWith(promise: Promise<unknown>, status: number, code: string, text?: RegExp, _why?: string): Promise<FhirError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FhirError, String(error));
    assert.equal(error.status, status, error.message);
    assert.equal(error.outcome.issue[0].code, code, error.message);
    if (text) assert.match(error.message, text);
    return error;
  }
  assert.fail('expected a FhirError');
}

describe('value set expansion (integration)', function () {
  let pool: pg.Pool;
  let repo: PgRepository;
  let tenant: string;
  const cs = `urn:test:animals:${randomUUID()}`;
  /** ValueSets the definitions find by url (imports). */
  const library = new Map<string, JsonObject>();

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    repo = new PgRepository(pool);
    tenant = await newTenant(pool);
    await repo.withTenant(tenant, (store) => loadCodeSystem(store, animals(cs)));
  });

  const contextOf = (store: ResourceStore): TerminologyContext => ({
    store: store.terminology,
    definitions: { find: async (type, url) => (type === 'ValueSet' ? library.get(url) : undefined) },
  });

  /** Expands in a tenant transaction and returns the codes in order. */
  async function expand(compose: JsonObject, params: ExpansionParams = {}, options: { readOnly?: boolean } = {}): Promise<string[]> {
    return repo.withTenant(
      tenant,
      async (store) => {
        const ctx = contextOf(store);
        const expansion = await cachedExpansion(ctx, { resourceType: 'ValueSet', compose }, params);
        const page = await expansionPage(ctx, expansion, { offset: 0, count: 1000 });
        assert.equal(page.total, expansion.total);
        return page.codes.map((c) => `${c.code}${c.inactive ? '*' : ''}${c.display && params.displayLanguage ? `=${c.display}` : ''}`);
      },
      options,
    );
  }
  const filter = (property: string, op: string, value: string) => ({ include: [{ system: cs, filter: [{ property, op, value }] }] });

  it('includes a whole code system, in code order, inactive codes flagged', async () => {
    assert.deepEqual(await expand({ include: [{ system: cs }] }), ['A', 'B', 'C', 'D', 'E*', 'Z']);
    const first = await repo.withTenant(tenant, async (store) => {
      const ctx = contextOf(store);
      const e = await cachedExpansion(ctx, { resourceType: 'ValueSet', compose: { include: [{ system: cs, version: '1' }] } });
      return (await expansionPage(ctx, e, { offset: 0, count: 1 })).codes[0];
    });
    assert.deepEqual(first, { system: cs, version: '1', code: 'A', display: 'Animal kingdom' });
  });

  it('includes listed concepts in their order, the list display winning, and refuses codes the system lacks', async () => {
    const codes = await repo.withTenant(tenant, async (store) => {
      const ctx = contextOf(store);
      const e = await cachedExpansion(ctx, { resourceType: 'ValueSet', compose: { include: [{ system: cs, concept: [{ code: 'C', display: 'Cats' }, { code: 'A' }, { code: 'E' }] }] } });
      return (await expansionPage(ctx, e, { offset: 0, count: 10 })).codes;
    });
    assert.deepEqual(codes.map((c) => [c.code, c.display, c.inactive ?? false]), [['C', 'Cats', false], ['A', 'Animal kingdom', false], ['E', 'Extinct beast', true]]);
    const error = await rejectsWith(expand({ include: [{ system: cs, concept: [{ code: 'A' }, { code: 'nope' }] }] }), 422, 'code-invalid', /'nope'/);
    assert.deepEqual(error.outcome.issue[0].expression, ['ValueSet.compose.include[0].concept']);
  });

  it('selects by each filter operator, and by several filters as a conjunction', async () => {
    assert.deepEqual(await expand(filter('concept', 'is-a', 'B')), ['B', 'D']);
    assert.deepEqual(await expand(filter('concept', 'descendent-of', 'A')), ['B', 'C', 'D', 'E*', 'Z']);
    assert.deepEqual(await expand(filter('concept', 'is-not-a', 'B')), ['A', 'C', 'E*', 'Z']);
    assert.deepEqual(await expand(filter('concept', 'generalizes', 'D')), ['A', 'B', 'D']);
    assert.deepEqual(await expand(filter('concept', '=', 'C')), ['C']);
    assert.deepEqual(await expand(filter('code', 'in', 'C,Z')), ['C', 'Z']);
    assert.deepEqual(await expand(filter('concept', 'not-in', 'A,B,C')), ['D', 'E*', 'Z']);
    assert.deepEqual(await expand(filter('concept', 'regex', '[A-C]')), ['A', 'B', 'C']);
    assert.deepEqual(await expand(filter('display', 'regex', '.*hawk')), ['D']);
    assert.deepEqual(await expand(filter('colour', '=', 'grey')), ['C']);
    assert.deepEqual(await expand(filter('colour', 'exists', 'true')), ['B', 'C']);
    assert.deepEqual(await expand(filter('colour', 'exists', 'false')), ['A', 'D', 'E*', 'Z']);
    assert.deepEqual(await expand(filter('parent', '=', 'A')), ['B', 'C', 'E*', 'Z']);
    assert.deepEqual(await expand(filter('inactive', '=', 'true')), ['E*']);
    assert.deepEqual(
      await expand({ include: [{ system: cs, filter: [{ property: 'concept', op: 'is-a', value: 'A' }, { property: 'colour', op: 'in', value: 'brown,grey' }] }] }),
      ['B', 'C'],
    );
  });

  it('refuses a filter concept storage cannot run, or a regex it cannot parse, as the definition\'s fault (422)', async () => {
    await rejectsWith(expand(filter('display', 'is-a', 'x')), 422, 'invalid', /applies to the property 'concept' only/);
    for (const pattern of ['(', '\\x', '\\q', '(a)\\2', 'a{256}', '[z-a]', '(?<n>a)', '\\p{L}', 'x'.repeat(1001)]) {
      await rejectsWith(expand(filter('concept', 'regex', pattern)), 422, 'invalid', /regex filter value/);
    }
    await repo.withTenant(tenant, async (store) => {
      const ctx = contextOf(store);
      await rejectsWith(cachedExpansion(ctx, { resourceType: 'ValueSet', compose: filter('concept', 'regex', 'a{300}') }), 422, 'invalid');
      const e = await cachedExpansion(ctx, { resourceType: 'ValueSet', compose: filter('display', 'regex', '[[:alpha:]]+ \\w+') });
      const page = await expansionPage(ctx, e, { offset: 0, count: 10 });
      assert.deepEqual(page.codes.map((c) => c.code), ['A', 'C', 'D', 'E'], 'the transaction goes on after a refused regex');
    });
    await rejectsWith(expand(filter('concept', 'like', 'x')), 422, 'invalid', /not one of/);
    await rejectsWith(expand({ include: [{ system: cs, concept: [{ code: 'A' }], filter: [{ property: 'concept', op: '=', value: 'A' }] }] }), 422, 'invalid', /vsd-3/);
    await rejectsWith(expand({ include: [{}] }), 422, 'invalid', /vsd-1/);
  });

  it('excludes codes by the same shapes', async () => {
    assert.deepEqual(await expand({ include: [{ system: cs }], exclude: [{ system: cs, filter: [{ property: 'concept', op: 'is-a', value: 'B' }] }] }), ['A', 'C', 'E*', 'Z']);
    assert.deepEqual(await expand({ include: [{ system: cs }], exclude: [{ system: cs, concept: [{ code: 'A' }, { code: 'Z' }] }] }), ['B', 'C', 'D', 'E*']);
  });

  it('imports value sets: the intersection of those imported, and with the system part', async () => {
    const birds = `urn:test:vs:${randomUUID()}`;
    const coloured = `urn:test:vs:${randomUUID()}`;
    library.set(birds, { resourceType: 'ValueSet', url: birds, compose: { include: [{ system: cs, filter: [{ property: 'concept', op: 'is-a', value: 'B' }] }] } });
    library.set(coloured, { resourceType: 'ValueSet', url: coloured, compose: { include: [{ system: cs, filter: [{ property: 'colour', op: 'exists', value: 'true' }] }] } });
    assert.deepEqual(await expand({ include: [{ valueSet: [birds] }] }), ['B', 'D']);
    assert.deepEqual(await expand({ include: [{ valueSet: [birds, coloured] }] }), ['B']);
    assert.deepEqual(await expand({ include: [{ system: cs, concept: [{ code: 'D' }, { code: 'C' }] , valueSet: [birds] }] }), ['D']);
    assert.deepEqual(await expand({ include: [{ valueSet: [birds] }, { valueSet: [coloured] }] }), ['B', 'D', 'C'], 'includes are a union');
    assert.deepEqual(await expand({ include: [{ system: cs }], exclude: [{ valueSet: [birds] }] }), ['A', 'C', 'E*', 'Z']);
    await rejectsWith(expand({ include: [{ valueSet: [`urn:test:vs:${randomUUID()}`] }] }), 422, 'not-found', /imported/);
  });

  it('stops an import cycle', async () => {
    const one = `urn:test:vs:${randomUUID()}`;
    const two = `urn:test:vs:${randomUUID()}`;
    library.set(one, { resourceType: 'ValueSet', url: one, compose: { include: [{ valueSet: [two] }] } });
    library.set(two, { resourceType: 'ValueSet', url: two, compose: { include: [{ system: cs, valueSet: [one] }] } });
    await rejectsWith(expand({ include: [{ valueSet: [one] }] }), 422, 'invalid', /cycle/);
    await rejectsWith(
      repo.withTenant(tenant, (store) => cachedExpansion(contextOf(store), library.get(one) as JsonObject)),
      422,
      'invalid',
      new RegExp(`${one} -> ${two} -> ${one}`),
    );
  });

  it('leaves inactive codes out with activeOnly (or compose.inactive false)', async () => {
    assert.deepEqual(await expand({ include: [{ system: cs }] }, { activeOnly: true }), ['A', 'B', 'C', 'D', 'Z']);
    assert.deepEqual(await expand({ inactive: false, include: [{ system: cs, concept: [{ code: 'E' }, { code: 'A' }] }] }), ['A']);
  });

  it('takes displays in displayLanguage from designations, by primary language too', async () => {
    assert.deepEqual(await expand(filter('concept', 'in', 'A,C,D'), { displayLanguage: 'de' }), ['A=Tierreich', 'C=Katzen', 'D=Desert hawk']);
  });

  it('answers 422 too-costly past the cap, counting before fetching', async () => {
    const error = await rejectsWith(expand({ include: [{ system: cs, concept: [] }] }, { maxCodes: 3 }), 422, 'too-costly', /more than 3 codes/);
    assert.deepEqual(error.outcome.issue[0].expression, ['ValueSet.compose.include[0]']);
    await rejectsWith(expand({ include: [{ system: cs }] }, { maxCodes: 3 }), 422, 'too-costly', /more than 3 codes/, 'one cached under a larger limit');
    await rejectsWith(expand(filter('concept', 'is-a', 'A'), { maxCodes: 5 }), 422, 'too-costly');
    await rejectsWith(expand({ include: [{ system: cs, concept: [{ code: 'A' }, { code: 'B' }] }, filter('concept', 'is-a', 'B').include[0]] }, { maxCodes: 2 }), 422, 'too-costly', /include\[1\]|more than 2/);
    assert.deepEqual(await expand(filter('concept', 'is-a', 'B'), { maxCodes: 2 }), ['B', 'D'], 'exactly the cap is fine');
  });

  it('answers 422 naming a code system that is not loaded, and includes listed codes of one as given with a warning', async () => {
    const unknown = `urn:test:unknown:${randomUUID()}`;
    await rejectsWith(expand({ include: [{ system: unknown, filter: [{ property: 'concept', op: 'is-a', value: 'x' }] }] }), 422, 'not-found', new RegExp(unknown));
    await rejectsWith(expand({ include: [{ system: cs, version: '9' }] }), 422, 'not-found', /\|9/);
    await repo.withTenant(tenant, async (store) => {
      const ctx = contextOf(store);
      const valueSet = { resourceType: 'ValueSet', compose: { include: [{ system: unknown, concept: [{ code: 'x', display: 'Ex' }] }] } };
      const e = await cachedExpansion(ctx, valueSet);
      assert.equal(e.warnings.length, 1);
      assert.match(e.warnings[0], /included as given/);
      assert.deepEqual((await expansionPage(ctx, e, { offset: 0, count: 5 })).codes, [{ system: unknown, code: 'x', display: 'Ex' }]);
      const again = await cachedExpansion(ctx, valueSet);
      assert.equal(again.fromCache, true);
      assert.deepEqual(await expansionWarnings(ctx, valueSet), e.warnings, 'the warning is found again for the cached one');
    });
  });

  it('answers a ValueSet with an expansion and no compose from that expansion', async () => {
    const codes = await repo.withTenant(tenant, async (store) => {
      const ctx = contextOf(store);
      const e = await cachedExpansion(ctx, {
        resourceType: 'ValueSet',
        expansion: { timestamp: '2020-01-01', contains: [{ system: 'urn:s', code: 'a', display: 'Alpha' }, { abstract: true, display: 'group', contains: [{ system: 'urn:s', code: 'b', inactive: true }] }] },
      }, { activeOnly: true });
      return (await expansionPage(ctx, e, { offset: 0, count: 5 })).codes;
    });
    assert.deepEqual(codes, [{ system: 'urn:s', code: 'a', display: 'Alpha' }]);
  });

  it('caches the whole expansion once per fingerprint; a new generation computes it again', async () => {
    const valueSet = { resourceType: 'ValueSet', url: `urn:test:vs:${randomUUID()}`, compose: { include: [{ system: cs }] } };
    await repo.withTenant(tenant, async (store) => {
      const ctx = contextOf(store);
      const first = await cachedExpansion(ctx, valueSet);
      assert.equal(first.fromCache, false);
      assert.ok(first.id);
      const second = await cachedExpansion(ctx, { ...valueSet, text: { status: 'generated', div: '<div>narrative does not count</div>' } });
      assert.deepEqual([second.id, second.fromCache, second.total], [first.id, true, 6]);
      const active = await cachedExpansion(ctx, valueSet, { activeOnly: true });
      assert.notEqual(active.id, first.id, 'activeOnly is part of the fingerprint');
      assert.equal(active.total, 5);
      await store.terminology.bumpGeneration();
      const third = await cachedExpansion(ctx, valueSet);
      assert.equal(third.fromCache, false);
      assert.notEqual(third.id, first.id);
    });
  });

  it('filters by text and pages the cached expansion in SQL', async () => {
    const valueSet = { resourceType: 'ValueSet', compose: { include: [{ system: cs }] } };
    await repo.withTenant(tenant, (store) => cachedExpansion(contextOf(store), valueSet));
    await repo.withTenant(tenant, async (store) => {
      const ctx = contextOf(store);
      const e = await cachedExpansion(ctx, valueSet);
      assert.ok(e.id);
      const codes = async (text: string | undefined, offset: number, count: number) => {
        const page = await expansionPage(ctx, e, { text, offset, count });
        return [page.total, ...page.codes.map((c) => c.code)];
      };
      assert.deepEqual(await codes('bird PR', 0, 10), [1, 'B']);
      assert.deepEqual(await codes('b', 0, 10), [2, 'B', 'E'], 'a word prefix of the display or code (bird, beast)');
      assert.deepEqual(await codes(undefined, 2, 2), [6, 'C', 'D']);
      assert.deepEqual(await codes(undefined, 10, 2), [6]);
      // Codes stored before migration 0021 have no words: normalized in the statement instead.
      const { rowCount } = await pool.query('UPDATE value_set_expansion_code SET words = NULL WHERE tenant_id = $1 AND expansion_id = $2', [tenant, e.id]);
      assert.equal(rowCount, 6);
      assert.deepEqual(await codes('b', 0, 10), [2, 'B', 'E']);
    });
  });

  it('asks for a read-write transaction when a READ ONLY one misses the cache, and finds it there once stored', async () => {
    const valueSet = { resourceType: 'ValueSet', url: `urn:test:vs:${randomUUID()}`, compose: { include: [{ system: cs }] } };
    await assert.rejects(repo.withTenant(tenant, (store) => cachedExpansion(contextOf(store), valueSet), { readOnly: true }), NeedsWritableTransaction);
    const stored = await repo.withTenant(tenant, (store) => cachedExpansion(contextOf(store), valueSet));
    const found = await repo.withTenant(tenant, (store) => cachedExpansion(contextOf(store), valueSet), { readOnly: true });
    assert.deepEqual([found.id, found.fromCache], [stored.id, true]);
  });

  it('with inMemoryWhenReadOnly, works in a READ ONLY transaction: the codes stay in memory, filtered and paged alike', async () => {
    const compose = { include: [{ system: cs }] , exclude: [{ system: cs, concept: [{ code: 'Z' }] }] };
    await repo.withTenant(
      tenant,
      async (store) => {
        const ctx = contextOf(store);
        const e = await cachedExpansion(ctx, { resourceType: 'ValueSet', url: `urn:test:vs:${randomUUID()}`, compose }, { inMemoryWhenReadOnly: true });
        assert.equal(e.id, undefined);
        assert.equal(e.codes?.length, 5);
        const page = await expansionPage(ctx, e, { text: 'b', offset: 1, count: 5 });
        assert.deepEqual([page.total, page.codes.map((c) => c.code)], [2, ['E']]);
        assert.equal((await expansionMember(ctx, e, cs, 'C'))?.display, 'Cat family');
        assert.equal(await expansionMember(ctx, e, cs, 'Z'), undefined);
      },
      { readOnly: true },
    );
  });

  it('validates codes against a value set by url or resource (the binding checks\' entry point)', async () => {
    const url = `urn:test:vs:${randomUUID()}`;
    library.set(url, { resourceType: 'ValueSet', url, compose: { include: [{ system: cs, filter: [{ property: 'concept', op: 'is-a', value: 'B' }] }, { system: cs, concept: [{ code: 'E' }] }] } });
    await repo.withTenant(tenant, async (store) => {
      const ctx = contextOf(store);
      assert.deepEqual(await validateInValueSet(ctx, url, [{ system: cs, code: 'D' }]), { result: true, display: 'Desert hawk' });
      assert.deepEqual(await validateInValueSet(ctx, url, [{ code: 'D' }]), { result: true, display: 'Desert hawk' }, 'without a system');
      const wrongDisplay = await validateInValueSet(ctx, url, [{ system: cs, code: 'D', display: 'Hawk' }]);
      assert.equal(wrongDisplay.result, true);
      assert.match(wrongDisplay.message ?? '', /'Hawk' is not the display.*'Desert hawk'/);
      assert.match((await validateInValueSet(ctx, url, [{ system: cs, code: 'E' }])).message ?? '', /inactive/);
      const outside = await validateInValueSet(ctx, url, [{ system: cs, code: 'C' }]);
      assert.equal(outside.result, false);
      assert.match(outside.message ?? '', /not in the value set/);
      assert.equal((await validateInValueSet(ctx, url, [{ system: 'urn:other', code: 'D' }])).result, false);
      assert.equal((await validateInValueSet(ctx, url, [{ system: cs, code: 'D', version: '2' }])).result, false, 'another version');
      assert.equal((await validateInValueSet(ctx, url, [{ system: cs, code: 'C' }, { system: cs, code: 'B' }])).result, true, 'any coding');
      assert.deepEqual(await validateInValueSet(ctx, `${url}-nope`, [{ system: cs, code: 'D' }]), { result: false, message: `The value set ${url}-nope is not known`, unknownValueSet: true });
      assert.equal((await validateInValueSet(ctx, library.get(url) as JsonObject, [{ system: cs, code: 'B' }])).result, true, 'a resource');
    });
  });
});
