// Unit tests for `_content`, `_text` (src/search/text-search.ts; FHIR R4 search.html#content,
// #text) and `_list` (src/search/list-param.ts; search.html#list): parsing through
// parseSearchQuery (values, comma = OR, escaping, errors naming the parameter, lenient
// handling) and the SQL they become (the indexed expressions of migration 0005, binds only).
// Their behaviour on a real server is in test/e2e/search-text-list-near.test.ts.
import assert from 'node:assert/strict';
import { FhirError } from '../../../src/core/errors.js';
import { parseSearchQuery } from '../../../src/search/parse-query.js';
import type { Filter, SearchQuery } from '../../../src/search/query.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import { Binds, whereClause } from '../../../src/search/where-sql.js';
import { MAX_TEXT_QUERY_LENGTH } from '../../../src/search/text-search.js';

const registry = createSearchRegistry();
const OPTIONS = { lenient: false, defaultCount: 20, maxCount: 1000 };

const parse = (type: string, query: string, lenient = false): SearchQuery =>
  parseSearchQuery(registry, type, new URLSearchParams(query), { ...OPTIONS, lenient });
const filters = (type: string, query: string): Filter[] => parse(type, query).filters;

/** Asserts a 400 whose issue names `expression` (and has `code`). */
function assertRefused(type: string, query: string, expression: string, code = 'invalid'): void {
  assert.throws(
    () => parse(type, query),
    (error: unknown) => {
      assert.ok(error instanceof FhirError, `${query}: expected a FhirError, got ${String(error)}`);
      assert.equal(error.status, 400, query);
      assert.deepEqual(error.outcome.issue[0].expression, [expression], query);
      assert.equal(error.outcome.issue[0].code, code, query);
      return true;
    },
    query,
  );
}

function sqlOf(type: string, query: string): { text: string; values: unknown[] } {
  const binds = new Binds();
  const text = whereClause(parse(type, query), binds.add('tenant-1'), binds);
  return { text, values: binds.values };
}

describe('_content and _text (search.html#content, #text)', () => {
  it('parse into text filters: comma-separated values are OR\'ed, escapes undone, spaces trimmed', () => {
    assert.deepEqual(filters('Patient', '_content=cardiac arrest'), [{ kind: 'text', param: '_content', queries: ['cardiac arrest'] }]);
    assert.deepEqual(filters('Observation', '_text=fever, "short of breath" ,-cough'), [
      { kind: 'text', param: '_text', queries: ['fever', '"short of breath"', '-cough'] },
    ]);
    assert.deepEqual(filters('Patient', '_content=a\\,b'), [{ kind: 'text', param: '_content', queries: ['a,b'] }]);
    assert.equal(filters('Patient', '_content=a&_content=b').length, 2, 'repeated = AND');
    assert.equal(filters('Bundle', '_content=x').length, 1, '_content is defined on Resource');
  });

  it('refuse bad values with a 400 naming the parameter', () => {
    assertRefused('Patient', '_content=', '_content');
    assertRefused('Patient', '_content=%20%20', '_content');
    assertRefused('Patient', '_text=fever,', '_text');
    assertRefused('Patient', '_content=a%00b', '_content');
    assertRefused('Patient', `_content=${'a'.repeat(MAX_TEXT_QUERY_LENGTH + 1)}`, '_content');
    assertRefused('Patient', '_content:exact=x', '_content:exact');
    assertRefused('Patient', '_text:missing=true', '_text:missing');
    assertRefused('Bundle', '_text=x', '_text'); // _text is defined on DomainResource only
  });

  it('accept the longest value', () => {
    assert.equal(filters('Patient', `_content=${'a '.repeat(MAX_TEXT_QUERY_LENGTH / 2)}`).length, 1);
  });

  it('lenient handling ignores a bad one, keeps the good one and reports the bad one', () => {
    const query = parse('Patient', '_content=&_text=fever', true);
    assert.deepEqual(query.filters, [{ kind: 'text', param: '_text', queries: ['fever'] }]);
    assert.deepEqual(query.ignored, ['_content']);
    assert.match(JSON.stringify(query.warnings), /_content/);
  });

  it('become one @@ over the indexed expression, with websearch_to_tsquery per value', () => {
    const content = sqlOf('Patient', '_content=cardiac arrest,asthma');
    assert.ok(
      content.text.includes(
        "(hearth_content_tsvector(r.content) @@ (websearch_to_tsquery('simple'::regconfig, $2::text) || websearch_to_tsquery('simple'::regconfig, $3::text)))",
      ),
      content.text,
    );
    assert.deepEqual(content.values, ['tenant-1', 'cardiac arrest', 'asthma']);
    const text = sqlOf('Observation', "_text=it's");
    assert.ok(text.text.includes("hearth_narrative_tsvector(r.content) @@ (websearch_to_tsquery('english'::regconfig, $2::text))"), text.text);
    assert.deepEqual(text.values, ['tenant-1', "it's"]);
  });

  it('work inside a chain, on the chained row', () => {
    const { text } = sqlOf('Observation', 'subject:Patient._content=smith');
    assert.match(text, /hearth_content_tsvector\(j1\.content\) @@/);
  });
});

describe('_list (search.html#list)', () => {
  it('parses List ids; comma = OR (duplicates dropped)', () => {
    assert.deepEqual(filters('Patient', '_list=42'), [{ kind: 'list', listIds: ['42'] }]);
    assert.deepEqual(filters('Observation', '_list=a,b.1,a'), [{ kind: 'list', listIds: ['a', 'b.1'] }]);
  });

  it('refuses a missing or invalid id, modifiers, and functional lists (not supported)', () => {
    assertRefused('Patient', '_list=', '_list');
    assertRefused('Patient', '_list=42,', '_list');
    assertRefused('Patient', '_list=a/b', '_list');
    assertRefused('Patient', `_list=${'x'.repeat(65)}`, '_list');
    assertRefused('Patient', '_list:not=42', '_list:not');
    assertRefused('Patient', '_list=$current-allergies', '_list', 'not-supported');
  });

  it('becomes a primary-key test against the references of the live Lists of the tenant', () => {
    const { text, values } = sqlOf('Patient', '_list=42,43');
    assert.ok(text.includes(`(r.id = ANY(ARRAY(SELECT split_part(j1_ref, '/', 2) FROM "list" j1 `), text);
    assert.ok(text.includes("WHERE j1.tenant_id = $1 AND NOT j1.deleted AND j1.id = ANY($2::text[]) AND split_part(j1_ref, '/', 1) = $3::text"), text);
    assert.deepEqual(values.slice(1), [['42', '43'], 'Patient']);
  });
});
