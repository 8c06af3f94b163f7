// Unit tests for the SQL of _sort on text keys and of system search (src/search/sql.ts,
// src/search/system.ts; FHIR R4 search.html#sort, search.html#all): statement shapes, cursor
// checks and the parse rules. Ordering against real data is in test/e2e/search-sort.test.ts
// and test/e2e/search-system.test.ts.
import assert from 'node:assert/strict';
import { encodeCursor, type CursorValue } from '../../../src/search/cursor.js';
import { FhirError } from '../../../src/core/errors.js';
import type { InteractionDeps } from '../../../src/fhir/interactions/context.js';
import { systemSearchInteraction } from '../../../src/fhir/interactions/search.js';
import type { FhirRequest } from '../../../src/core/types.js';
import { SearchEngine } from '../../../src/search/engine.js';
import type { ResourceStore } from '../../../src/storage/resource-store.js';
import { parseSearchQuery } from '../../../src/search/parse-query.js';
import { moduleFor } from '../../../src/search/params/modules.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import { pageStatement } from '../../../src/search/sql.js';
import { systemPageStatement, systemCountStatement, typesWithRowsStatement } from '../../../src/search/system-sql.js';
import { parseSystemQuery, parseTypeParam, type SystemSearchQuery } from '../../../src/search/system.js';

const registry = createSearchRegistry();
const options = { lenient: false, defaultCount: 20, maxCount: 100 };
const parse = (type: string, query: string) => parseSearchQuery(registry, type, new URLSearchParams(query), options);
const system = (types: string[], query: string, lenient = false, explicit = true): SystemSearchQuery =>
  parseSystemQuery(registry, types, explicit, new URLSearchParams(query), { ...options, lenient });
const branches = (q: SystemSearchQuery) => q.branches.map((query) => ({ query, lastUpdatedDef: registry.get(query.resourceType, '_lastUpdated') }));
const page = (direction: 'after' | 'before', values: CursorValue[]) => encodeCursor(direction, values);

/** The 400 a call throws, as [diagnostics, expression]. */
function refusal(fn: () => unknown): { code: string; diagnostics: string; expression?: string[] } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof FhirError && error.status === 400, String(error));
    const [issue] = error.outcome.issue;
    return { code: issue.code, diagnostics: issue.diagnostics ?? '', expression: issue.expression };
  }
  assert.fail('expected a 400');
}

describe('_sort on text keys (sql.ts)', () => {
  it('each parameter-type module says how _sort orders by it: text or numeric keys, or not at all', () => {
    const kinds = Object.fromEntries((['string', 'token', 'reference', 'uri', 'date', 'number', 'quantity', 'composite', 'special'] as const).map((type) => [type, moduleFor(type)?.sort?.kind ?? 'none']));
    assert.deepEqual(kinds, { string: 'text', token: 'text', reference: 'text', uri: 'text', date: 'numeric', number: 'numeric', quantity: 'numeric', composite: 'none', special: 'none' });
  });

  it('string, token, reference and uri parameters sort; composite and special are 400 not-supported', () => {
    for (const [type, sort] of [['Patient', 'family'], ['Patient', '-gender'], ['Patient', 'organization'], ['ValueSet', 'url'], ['Patient', '_tag,-name']]) {
      const statement = pageStatement(parse(type, `_sort=${sort}`), 't1');
      assert.match(statement.text, /COLLATE "C"/, sort);
    }
    for (const [type, sort] of [['Observation', 'code-value-quantity'], ['Location', 'near'], ['Patient', '_text']]) {
      const issue = refusal(() => parse(type, `_sort=${sort}`));
      assert.equal(issue.code, 'not-supported');
      assert.deepEqual(issue.expression, ['_sort']);
    }
  });

  it('orders by the normalized value, missing last both ways: prefix 1 for present values, 2 (asc) / 0 (desc) for missing', () => {
    const asc = pageStatement(parse('Patient', '_sort=family'), 't1').text;
    assert.match(asc, /COALESCE\('1' \|\| \(SELECT min\(.*r\.sp -> 'family'.*\), '2'\) COLLATE "C"\) AS k0, r\.id AS k1 /);
    const desc = pageStatement(parse('Patient', '_sort=-family'), 't1').text;
    assert.match(desc, /COALESCE\('1' \|\| \(SELECT max\(.*\), '0'\) COLLATE "C"\) AS k0/);
    assert.match(desc, /ORDER BY .* DESC, r\.id ASC LIMIT \$2$/);
  });

  it('a cursor value of a text key may be any string and is bound, never spliced', () => {
    const odd = "'); DROP TABLE patient; -- ☃";
    const statement = pageStatement({ ...parse('Patient', '_sort=family'), page: page('after', [odd, 'p1']) }, 't1');
    assert.ok(!statement.text.includes('DROP'));
    assert.deepEqual(statement.values.filter((v) => v === odd).length, 2, 'once per comparison');
    assert.ok(statement.values.includes('p1'));
  });

  it('a cursor must fit its columns: ids are checked, NUL and numbers refused for text keys', () => {
    const query = parse('Patient', '_sort=family,birthdate');
    for (const values of [['1a', 'x', 'bad id!'], ['1a\u0000', '5', 'p1'], [5, '5', 'p1'], ['1a', 'five', 'p1'], ['1a', '5']]) {
      assert.deepEqual(refusal(() => pageStatement({ ...query, page: page('after', values) }, 't1')).expression, ['_page'], JSON.stringify(values));
    }
    assert.doesNotThrow(() => pageStatement({ ...query, page: page('before', [null, null, 'p1']) }, 't1'));
  });

  it('keys after _id are dropped (ids are unique), so _sort=_id,family orders by id alone', () => {
    assert.equal(pageStatement(parse('Patient', '_sort=-_id,family'), 't1').sortColumnCount, 1);
    assert.equal(pageStatement(parse('Patient', '_sort=family,-_id,birthdate'), 't1').sortColumnCount, 2);
    assert.equal(pageStatement(parse('Patient', '_sort=family,birthdate'), 't1').sortColumnCount, 3);
  });
});

describe('system search', () => {
  describe('parseTypeParam', () => {
    it('distinct and sorted; absent is undefined', () => {
      assert.deepEqual(parseTypeParam(new URLSearchParams('_type=Patient,Observation,Patient')), ['Observation', 'Patient']);
      assert.equal(parseTypeParam(new URLSearchParams('_id=1')), undefined);
    });
    it('an unknown, empty or repeated _type is a 400 naming _type', () => {
      for (const query of ['_type=Patient,Banana', '_type=', '_type=patient', '_type=Patient&_type=Observation', '_type=Patient,']) {
        assert.deepEqual(refusal(() => parseTypeParam(new URLSearchParams(query))).expression, ['_type'], query);
      }
    });
  });

  describe('parseSystemQuery', () => {
    it('one branch per type, each parsed against its own type', () => {
      const q = system(['Condition', 'Observation'], '_type=Condition,Observation&subject=Patient/1&_sort=-code&_count=5');
      assert.deepEqual(q.branches.map((b) => b.resourceType), ['Condition', 'Observation']);
      for (const b of q.branches) {
        assert.equal(b.count, 5);
        assert.equal(b.filters.length, 1);
      }
      assert.equal(q.result.count, 5);
    });

    it('filters and _sort keys must be parameters of every listed type with one type', () => {
      assert.deepEqual(refusal(() => system(['Observation', 'Patient'], 'gender=male')).expression, ['gender']);
      assert.deepEqual(refusal(() => system(['Observation', 'Patient'], 'gender:missing=true')).expression, ['gender:missing']);
      assert.deepEqual(refusal(() => system(['Observation', 'Patient'], '_sort=birthdate')).expression, ['_sort']);
      // `date` is a date on Observation, a date on Encounter; `code` a token on both
      assert.doesNotThrow(() => system(['Encounter', 'Observation'], '_sort=date'));
      assert.doesNotThrow(() => system(['Condition', 'Observation'], 'code=x&_sort=code'));
      // a code two types define with different types: `context` is a token on ActivityDefinition, a reference on ChargeItem
      assert.deepEqual(refusal(() => system(['ActivityDefinition', 'ChargeItem'], 'context=x')).expression, ['context']);
      assert.deepEqual(refusal(() => system(['ActivityDefinition', 'ChargeItem'], '_sort=context')).expression, ['_sort']);
      assert.doesNotThrow(() => system(['ActivityDefinition'], 'context=x&_sort=context'));
      // without _type only the parameters every resource has
      assert.deepEqual(refusal(() => system(['Patient'], 'gender=male', false, false)).expression, ['gender']);
      assert.doesNotThrow(() => system(['Observation', 'Patient'], '_id=1&_lastUpdated=gt2020&_tag=x&_profile=http://p&_security=s|c&_source=http://s&_sort=-_lastUpdated', false, false));
      assert.doesNotThrow(() => system([], '_lastUpdated=gt2020', false, false));
      assert.deepEqual(refusal(() => system([], '_lastUpdated=yesterday', false, false)).expression, ['_lastUpdated']);
    });

    it('_include and _revinclude are 400 not-supported', () => {
      for (const query of ['_include=Observation:subject', '_revinclude:iterate=Observation:subject']) {
        const issue = refusal(() => system(['Observation', 'Patient'], query));
        assert.equal(issue.code, 'not-supported');
        assert.deepEqual(issue.expression, [query.split('=')[0]]);
      }
    });

    it('lenient: a parameter any branch could not use is ignored in every branch and reported once', () => {
      const q = system(['Condition', 'Observation'], 'gender=male&subject=Banana/1&_id=x', true);
      assert.deepEqual(q.result.ignored.sort(), ['gender', 'subject']);
      for (const b of q.branches) assert.deepEqual(b.filters.map((f) => f.kind), ['id']);
      assert.equal(q.result.warnings.filter((w) => /gender/.test(JSON.stringify(w))).length, 1);
      assert.ok(q.result.warnings.every((w) => w.severity === 'warning'));
    });
  });

  describe('systemPageStatement', () => {
    it('a UNION ALL of per-type selects, each with its own ORDER BY and LIMIT, ordered and limited again', () => {
      const q = system(['Observation', 'Patient'], '_sort=-_lastUpdated&_count=3');
      const statement = systemPageStatement(branches(q), 't1');
      const [union, outer] = statement.text.split(/\) u ORDER BY /);
      const selects = union.split(' UNION ALL ');
      assert.equal(selects.length, 2);
      for (const [i, type] of ['Observation', 'Patient'].entries()) {
        assert.match(selects[i], new RegExp(`^(SELECT \\* FROM \\()?\\(SELECT '${type}'::text AS resource_type, r\\.id, .* FROM "${type.toLowerCase()}" r WHERE r\\.tenant_id = \\$1 .* ORDER BY floor\\(.*\\) DESC, r\\.id ASC LIMIT \\$2\\)$`));
      }
      assert.equal(outer, 'u.k0 DESC, u.k1 COLLATE "C" ASC, u.k2 ASC LIMIT $2');
      assert.deepEqual(statement.values, ['t1', 4]);
      assert.equal(statement.sortColumnCount, 3);
    });

    it('the keyset condition of each branch compares the type here: earlier types, the cursor type, later types', () => {
      const q = system(['Condition', 'Observation', 'Patient'], '_sort=_lastUpdated');
      q.branches.forEach((b) => (b.page = page('after', ['1000', 'Observation', 'o1'])));
      const statement = systemPageStatement(branches(q), 't1');
      const [condition, observation, patient] = statement.text.split(' UNION ALL ');
      const lu = 'floor\\(extract\\(epoch from r\\.last_updated\\) \\* 1000\\)';
      // before Observation in type order: only later timestamps
      assert.match(condition, new RegExp(`AND \\(\\(${lu} > \\$\\d+::numeric\\)\\) ORDER BY`));
      // the cursor's type: later timestamps, or the same one and a later id
      assert.match(observation, new RegExp(`AND \\(\\(${lu} > \\$\\d+::numeric\\) OR \\(${lu} = \\$\\d+::numeric AND r\\.id > \\$\\d+::text\\)\\) ORDER BY`));
      // after it: the same timestamp is enough
      assert.match(patient, new RegExp(`AND \\(\\(${lu} > \\$\\d+::numeric\\) OR \\(${lu} = \\$\\d+::numeric\\)\\) ORDER BY`));
      assert.ok(!statement.text.includes("'o1'") && !statement.text.includes("'1000'"), 'cursor values are bound');
      const before = system(['Condition', 'Patient'], '');
      before.branches.forEach((b) => (b.page = page('before', ['Observation', 'o1'])));
      const [c, p] = systemPageStatement(branches(before), 't1').text.split(' UNION ALL ');
      assert.match(c, / AND \(TRUE\) ORDER BY r\.id DESC /, 'every Condition is before (Observation, o1)');
      assert.match(p, / AND FALSE ORDER BY r\.id DESC /, 'no Patient is');
    });

    it('_sort=_id puts the type after the id; a cursor type must be a resource type', () => {
      const q = system(['Observation', 'Patient'], '_sort=-_id');
      assert.match(systemPageStatement(branches(q), 't1').text, /\) u ORDER BY u\.k0 DESC, u\.k1 COLLATE "C" DESC LIMIT \$2$/);
      q.branches.forEach((b) => (b.page = page('after', ['x', 'Banana'])));
      assert.deepEqual(refusal(() => systemPageStatement(branches(q), 't1')).expression, ['_page']);
    });

    it('count and the types-with-rows probe', () => {
      const q = system(['Observation', 'Patient'], '_id=a');
      const count = systemCountStatement(branches(q), 't1');
      assert.match(count.text, /^SELECT count\(\*\)::bigint AS n FROM \(SELECT 1 FROM "observation" r WHERE .* UNION ALL SELECT 1 FROM "patient" r WHERE .*\) u$/);
      assert.deepEqual(count.values, ['t1', ['a'], ['a']]);
      const probe = typesWithRowsStatement(['Observation', 'Patient'], 't1');
      assert.equal(probe.text.split(' UNION ALL ').length, 2);
      assert.deepEqual(probe.values, ['t1']);
      assert.throws(() => typesWithRowsStatement(["Patient'--"], 't1'), /not a resource type/);
    });
  });
});

describe('systemSearchInteraction', () => {
  const request = (query: string, isAdmin: boolean) =>
    ({
      method: 'GET',
      tenantId: 't1',
      baseUrl: 'http://h/fhir',
      path: [],
      query: new URLSearchParams(query),
      prefer: {},
      access: { subject: 'app', scopes: [], isAdmin },
      requestId: 'r',
    }) as FhirRequest;
  const statements: string[] = [];
  const store = { tenantId: 't1', query: async (text: string) => (statements.push(text), []) } as unknown as ResourceStore;
  const deps = {
    search: new SearchEngine(registry, { defaultCount: 20, maxCount: 100 }),
    searchParams: { load: async () => ({ searching: registry }) },
  } as unknown as InteractionDeps;

  it('_explain is refused to a non-administrator before any SQL runs', async () => {
    statements.length = 0;
    const interaction = systemSearchInteraction(request('_type=Patient,Observation&_explain=true', false), deps, new URLSearchParams('_type=Patient,Observation&_explain=true'));
    await assert.rejects(interaction.run(store), (e: unknown) => e instanceof FhirError && e.status === 403);
    assert.deepEqual(statements, []);
  });

  it('without _type, the types come from one probe of the tenant; none means an empty searchset', async () => {
    statements.length = 0;
    const params = new URLSearchParams('_lastUpdated=gt2020&_total=accurate');
    const response = await systemSearchInteraction(request(params.toString(), true), deps, params).run(store);
    assert.equal(statements.length, 1);
    assert.match(statements[0], /^SELECT 'Account'::text AS resource_type WHERE EXISTS \(SELECT 1 FROM "account" WHERE tenant_id = \$1\) UNION ALL /);
    assert.equal(response.status, 200);
    const bundle = JSON.parse((response.body as { text: string }).text);
    assert.equal(bundle.total, 0);
    assert.equal(bundle.link[0].url, 'http://h/fhir?_lastUpdated=gt2020&_total=accurate');
  });
});
