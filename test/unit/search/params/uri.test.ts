// Unit tests for src/search/params/uri.ts (FHIR R4 search.html#uri, #modifiers).
import assert from 'node:assert/strict';
import { uriAncestors, uriParam, type UriValue } from '../../../../src/search/params/uri.js';
import type { SearchIndex } from '../../../../src/search/types.js';
import { assertBadRequest, assertOnlyPlaceholders, paramDef, TestBinds } from './support.js';

const url = paramDef('url', 'uri');

function indexOf(values: unknown[]): SearchIndex {
  const into: SearchIndex = {};
  uriParam.index(url, values, into);
  return into;
}

const parse = (raw: string, modifier?: string) => uriParam.parse(url, modifier, raw);

function matches(index: SearchIndex, modifier: string | undefined, raws: string[]): boolean {
  const values: UriValue[] = modifier === 'missing' ? raws.map((raw) => ({ raw })) : raws.map((raw) => parse(raw, modifier));
  return uriParam.matches(url, modifier, values, index);
}

function sql(modifier: string | undefined, raws: string[]) {
  const binds = new TestBinds();
  const text = uriParam.predicate(url, modifier, raws.map((raw) => parse(raw, modifier)), 'r.sp', binds);
  return { text, binds: binds.values.map((b) => JSON.parse(b as string)) };
}

describe('uri parameters', () => {
  it('finds path-segment ancestors down to scheme://authority', () => {
    assert.deepEqual(uriAncestors('http://acme.org/fhir/ValueSet/1'), ['http://acme.org/fhir/ValueSet', 'http://acme.org/fhir', 'http://acme.org']);
    assert.deepEqual(uriAncestors('http://acme.org/fhir/'), ['http://acme.org']);
    assert.deepEqual(uriAncestors('http://acme.org'), []);
    assert.deepEqual(uriAncestors('http://acme.org/a?x=/y#/z'), ['http://acme.org']);
    assert.deepEqual(uriAncestors('urn:oid:1.2.840'), []);
    assert.deepEqual(uriAncestors('ValueSet/abc'), ['ValueSet']);
  });

  it('indexes the URI as written and its :below ancestors', () => {
    assert.deepEqual(indexOf(['http://acme.org/fhir/ValueSet/', 'urn:oid:1.2', '', 'urn:oid:1.2']), {
      url: ['http://acme.org/fhir/ValueSet/', 'urn:oid:1.2'],
      'url:below': ['http://acme.org/fhir/ValueSet', 'http://acme.org/fhir', 'http://acme.org', 'urn:oid:1.2'],
    });
    assert.deepEqual(indexOf([]), {});
  });

  it('parses with escaping and refuses bad values with a 400', () => {
    assert.equal(parse('http://a.org/x\\,y\\|z\\$\\\\').uri, 'http://a.org/x,y|z$\\');
    assertBadRequest(() => parse(''), 'url', /URI is required/);
    assertBadRequest(() => parse('', 'below'), 'url:below');
    assertBadRequest(() => parse('x', 'exact'), 'url:exact', /not valid/);
    assertBadRequest(() => parse('yes', 'missing'), 'url:missing', /true or false/);
  });

  it('builds containment probes: exact, :below on ancestors, :above on prefixes', () => {
    const exact = sql(undefined, ['http://a.org/x', "http://a.org/it's"]);
    assert.equal(exact.text, '(r.sp @> $1::jsonb OR r.sp @> $2::jsonb)');
    assert.deepEqual(exact.binds, [{ url: ['http://a.org/x'] }, { url: ["http://a.org/it's"] }]);
    assertOnlyPlaceholders(exact.text, ['a.org', "it's"]);
    assert.deepEqual(sql('below', ['http://a.org/fhir/']).binds, [{ 'url:below': ['http://a.org/fhir'] }]);
    assert.deepEqual(
      sql('above', ['http://a.org/fhir/ValueSet']).binds.map((b) => b.url[0]),
      ['http://a.org/fhir/ValueSet', 'http://a.org/fhir/ValueSet/', 'http://a.org/fhir', 'http://a.org/fhir/', 'http://a.org', 'http://a.org/'],
    );
    const missing = uriParam.predicate(url, 'missing', [{ raw: 'false' }], 'r.sp', new TestBinds());
    assert.equal(missing, `(jsonb_path_exists(r.sp, '$."url"[*]'))`);
  });

  it('matches exactly and case-sensitively by default', () => {
    const index = indexOf(['http://acme.org/fhir/ValueSet/1']);
    assert.equal(matches(index, undefined, ['http://acme.org/fhir/ValueSet/1']), true);
    assert.equal(matches(index, undefined, ['http://ACME.org/fhir/ValueSet/1']), false);
    assert.equal(matches(index, undefined, ['http://acme.org/fhir/ValueSet']), false);
  });

  it(':below matches the URI and everything under it, segment-wise', () => {
    const index = indexOf(['http://acme.org/fhir/ValueSet/1']);
    for (const q of ['http://acme.org/fhir', 'http://acme.org/fhir/', 'http://acme.org', 'http://acme.org/fhir/ValueSet/1']) {
      assert.equal(matches(index, 'below', [q]), true, q);
    }
    for (const q of ['http://acme.org/fh', 'http://acme.org/fhir/ValueSet/1/x', 'http://acme', 'http:']) {
      assert.equal(matches(index, 'below', [q]), false, q);
    }
  });

  it(':above matches stored URIs that are segment-wise prefixes of the query', () => {
    const index = indexOf(['http://acme.org/fhir/']);
    assert.equal(matches(index, 'above', ['http://acme.org/fhir/ValueSet/1']), true);
    assert.equal(matches(index, 'above', ['http://acme.org/fhir']), true);
    assert.equal(matches(index, 'above', ['http://acme.org/fhirx/ValueSet']), false);
    assert.equal(matches(index, 'above', ['http://acme.org']), false);
    assert.equal(matches(indexOf(['urn:oid:1.2']), 'above', ['urn:oid:1.2.3']), false, 'URNs have no segments');
  });

  it(':missing', () => {
    assert.equal(matches({}, 'missing', ['true']), true);
    assert.equal(matches(indexOf(['x']), 'missing', ['true']), false);
    assert.equal(matches(indexOf(['x']), 'missing', ['false']), true);
  });
});
