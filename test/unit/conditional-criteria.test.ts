// Unit tests for src/fhir/conditional-criteria.ts: criteria of conditional create/update/
// delete (FHIR R4 http.html#ccreate, #cond-update; token syntax from search.html#token).
import assert from 'node:assert/strict';
import { parseConditionalCriteria } from '../../src/fhir/conditional-criteria.js';
import { FhirError } from '../../src/fhir/errors.js';

const parse = (query: string | URLSearchParams) => parseConditionalCriteria(query, 'If-None-Exist');

function refused(query: string | URLSearchParams, headerName: string, diagnostics: RegExp): void {
  assert.throws(
    () => parseConditionalCriteria(query, headerName),
    (error: unknown) => {
      assert.ok(error instanceof FhirError, `expected FhirError, got ${String(error)}`);
      assert.equal(error.status, 400);
      assert.equal(error.outcome.issue.length, 1);
      const [issue] = error.outcome.issue;
      assert.equal(issue.code, 'invalid');
      assert.deepEqual(issue.expression, [headerName]);
      assert.match(issue.diagnostics ?? '', diagnostics);
      assert.ok(issue.diagnostics?.startsWith(`${headerName}: `), issue.diagnostics);
      return true;
    },
  );
}

describe('parseConditionalCriteria', () => {
  describe('identifier token syntax', () => {
    it('system|value matches that system and value', () => {
      assert.deepEqual(parse('identifier=http://example.org/mrn|12345'), [
        { kind: 'identifier', system: 'http://example.org/mrn', value: '12345' },
      ]);
    });

    it('|value means "no system" (empty string system)', () => {
      assert.deepEqual(parse('identifier=|12345'), [{ kind: 'identifier', system: '', value: '12345' }]);
    });

    it('value alone matches any system', () => {
      assert.deepEqual(parse('identifier=12345'), [{ kind: 'identifier', value: '12345' }]);
      assert.equal('system' in parse('identifier=12345')[0], false);
    });

    it('system| matches any value in that system', () => {
      assert.deepEqual(parse('identifier=http://example.org/mrn|'), [
        { kind: 'identifier', system: 'http://example.org/mrn', value: undefined },
      ]);
    });

    it('an escaped \\| is part of the value, not the separator', () => {
      assert.deepEqual(parse('identifier=a\\|b'), [{ kind: 'identifier', value: 'a|b' }]);
      assert.deepEqual(parse('identifier=sys\\|x|v\\|y'), [{ kind: 'identifier', system: 'sys|x', value: 'v|y' }]);
      assert.deepEqual(parse('identifier=a\\\\|b'), [{ kind: 'identifier', system: 'a\\', value: 'b' }]);
      assert.deepEqual(parse('identifier=a\\,b\\$c'), [{ kind: 'identifier', value: 'a,b$c' }]);
    });

    it('percent-encoded values are decoded', () => {
      assert.deepEqual(parse('identifier=http%3A%2F%2Fex.org%7CA%20B'), [{ kind: 'identifier', system: 'http://ex.org', value: 'A B' }]);
    });

    it('a lone | has neither system nor value → 400', () => {
      refused('identifier=|', 'If-None-Exist', /identifier '\|' has neither system nor value/);
    });
  });

  describe('_id', () => {
    it('takes one id or a comma-separated list', () => {
      assert.deepEqual(parse('_id=abc'), [{ kind: 'id', ids: ['abc'] }]);
      assert.deepEqual(parse('_id=a,b,c'), [{ kind: 'id', ids: ['a', 'b', 'c'] }]);
      assert.deepEqual(parse('_id=a,,b,'), [{ kind: 'id', ids: ['a', 'b'] }]);
    });

    it('combines with identifier: every criterion must match', () => {
      assert.deepEqual(parse('_id=x1&identifier=s|v'), [
        { kind: 'id', ids: ['x1'] },
        { kind: 'identifier', system: 's', value: 'v' },
      ]);
    });
  });

  describe('prefixes', () => {
    it('strips a leading "Patient?" or "?"', () => {
      const expected = [{ kind: 'identifier', system: 's', value: 'v' }];
      assert.deepEqual(parse('Patient?identifier=s|v'), expected);
      assert.deepEqual(parse('?identifier=s|v'), expected);
      assert.deepEqual(parse('identifier=s|v'), expected);
    });

    it('keeps a "?" that is part of a value when there is no prefix', () => {
      // A raw "?" is legal in a URL query (RFC 3986 §3.4); only a leading "Type?" / "?" is a prefix.
      assert.deepEqual(parse('identifier=http://example.org/ids?set=1|42'), [
        { kind: 'identifier', system: 'http://example.org/ids?set=1', value: '42' },
      ]);
    });

    it('accepts URLSearchParams as well as text', () => {
      assert.deepEqual(parse(new URLSearchParams('identifier=s|v&_format=json')), [{ kind: 'identifier', system: 's', value: 'v' }]);
    });
  });

  describe('refusals', () => {
    it('an unknown parameter → 400 naming it and the supported ones', () => {
      refused('family=Smith', 'If-None-Exist', /parameter 'family' is not supported for conditional operations yet \(supported: _id, identifier\)/);
      refused('identifier=s|v&name=x', 'search criteria', /parameter 'name' is not supported/);
    });

    it('no criteria at all → 400', () => {
      refused('', 'If-None-Exist', /If-None-Exist: no search criteria given/);
      refused('Patient?', 'If-None-Exist', /no search criteria given/);
      refused(new URLSearchParams(''), 'search criteria', /search criteria: no search criteria given/);
    });

    it('result-shaping parameters alone are not criteria → 400', () => {
      refused('_format=json&_pretty=true&_summary=true&_elements=id', 'If-None-Exist', /no search criteria given/);
    });
  });
});
