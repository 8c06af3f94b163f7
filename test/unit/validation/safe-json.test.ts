// Unit tests for src/fhir/validation/safe-json.ts (FHIR R4 json.html; security.html).
import assert from 'node:assert/strict';
import { FhirError } from '../../../src/core/errors.js';
import { assertSafeJsonValue, parseJsonBody } from '../../../src/fhir/validation/safe-json.js';

const limits = { maxDepth: 10 };
const parse = (text: string, max = limits) => parseJsonBody(Buffer.from(text, 'utf8'), max);

/** Runs fn, asserts it throws a 400 FhirError, and returns its single issue. */
function rejects(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FhirError, `expected FhirError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.outcome.resourceType, 'OperationOutcome');
    assert.equal(err.outcome.issue.length, 1);
    const [issue] = err.outcome.issue;
    assert.equal(issue.severity, 'error');
    assert.ok(issue.code === 'invalid' || issue.code === 'structure', `code ${issue.code}`);
    return issue;
  }
  assert.fail('expected a FhirError 400');
}

const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('parseJsonBody', () => {
  it('parses a valid resource', () => {
    assert.deepEqual(parse('{"resourceType":"Patient","active":true}'), { resourceType: 'Patient', active: true });
  });

  it('accepts Uint8Array input as well as Buffer', () => {
    assert.deepEqual(parseJsonBody(new TextEncoder().encode('[1,"é"]'), limits), [1, 'é']);
  });

  it('rejects invalid UTF-8 with 400', () => {
    const issue = rejects(() => parseJsonBody(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xc3, 0x28, 0x7d]), limits));
    assert.match(issue.diagnostics!, /not valid UTF-8/);
  });

  it('rejects an overlong UTF-8 encoding (fatal decoding, no U+FFFD substitution)', () => {
    const issue = rejects(() => parseJsonBody(Buffer.from([0x22, 0xc0, 0xaf, 0x22]), limits));
    assert.match(issue.diagnostics!, /UTF-8/);
  });

  it('accepts and strips a leading UTF-8 BOM', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"b"}')]);
    assert.deepEqual(parseJsonBody(bytes, limits), { a: 'b' });
  });

  it('rejects a raw NUL character with its position', () => {
    const issue = rejects(() => parse('{"a":1}\u0000'));
    assert.match(issue.diagnostics!, /NUL/);
    assert.match(issue.diagnostics!, /position 7/);
  });

  it('rejects an escaped \\u0000 in a string value, naming the element', () => {
    const issue = rejects(() => parse('{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}'));
    assert.match(issue.diagnostics!, /NUL/);
    assert.deepEqual(issue.expression, ['Patient.name[0].family']);
  });

  it('rejects an escaped \\u0000 in a property name', () => {
    const issue = rejects(() => parse('{"a\\u0000":1}'));
    assert.match(issue.diagnostics!, /Property name contains a NUL/);
  });

  it('rejects an empty or whitespace-only body', () => {
    assert.match(rejects(() => parseJsonBody(Buffer.alloc(0), limits)).diagnostics!, /empty/);
    assert.match(rejects(() => parse(' \r\n\t ')).diagnostics!, /empty/);
  });

  it('rejects invalid JSON with line, column and position', () => {
    const issue = rejects(() => parse('{\n  "a": 1,\n  "b" 2\n}'));
    assert.equal(issue.code, 'structure');
    assert.match(issue.diagnostics!, /^Invalid JSON at line 3, column 7 \(position 18\)/);
  });

  it('locates errors V8 reports without a position (bad literal)', () => {
    const issue = rejects(() => parse('{"a":tru}'));
    assert.match(issue.diagnostics!, /Invalid JSON at line 1, column 6 \(position 5\)/);
    assert.doesNotMatch(issue.diagnostics!, /is not valid JSON/); // the body is not echoed
  });

  it('reports truncated input at its end', () => {
    assert.match(rejects(() => parse('{"a":[1,2')).diagnostics!, /position 9/);
  });

  it('rejects trailing content after the JSON value', () => {
    assert.match(rejects(() => parse('{"a":1} x')).diagnostics!, /position 8/);
  });

  it('accepts nesting exactly at the depth limit', () => {
    assert.doesNotThrow(() => parse(nest(10)));
    assert.doesNotThrow(() => parse(`{"a":${nest(9)}}`));
  });

  it('rejects nesting one level over the limit (objects and arrays both count)', () => {
    const issue = rejects(() => parse(`{"a":${nest(10)}}`));
    assert.equal(issue.code, 'structure');
    assert.match(issue.diagnostics!, /deeper than the limit of 10/);
    assert.deepEqual(issue.expression, ['a[0][0][0][0][0][0][0][0][0]']);
  });

  it('turns 100k-deep nesting into a 400, not a crash', () => {
    const issue = rejects(() => parse(nest(100_000)));
    assert.match(issue.diagnostics!, /deeper than the limit/);
    const objects = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    assert.match(rejects(() => parse(objects)).diagnostics!, /deeper than the limit/);
  });

  for (const key of ['__proto__', 'constructor', 'prototype']) {
    it(`rejects a '${key}' key anywhere and names its path`, () => {
      const issue = rejects(() => parse(`{"resourceType":"Patient","contact":[{"name":{"${key}":{"polluted":1}}}]}`));
      assert.equal(issue.diagnostics, `Property name '${key}' is not allowed`);
      assert.deepEqual(issue.expression, [`Patient.contact[0].name.${key}`]);
    });
  }

  it('never pollutes Object.prototype', () => {
    assert.throws(() => parse('{"__proto__":{"polluted":1}}'), FhirError);
    assert.throws(() => parse('[{"a":{"__proto__":{"polluted":1}}}]'), FhirError);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });

  // Speed is measured by benchmarks, not asserted here (a timed test fails on a busy machine).
  it('parses and checks a 5 MB body', () => {
    const entry = { resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 's', code: 'c' }] }, valueQuantity: { value: 1.5, unit: 'mg' }, note: [{ text: 'x'.repeat(40) }] } };
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [] as unknown[] };
    while (JSON.stringify(bundle).length < 5_000_000) bundle.entry.push(...Array(1000).fill(entry));
    const bytes = Buffer.from(JSON.stringify(bundle));
    const value = parseJsonBody(bytes, { maxDepth: 32 }) as typeof bundle;
    assert.equal(value.entry.length, bundle.entry.length);
    assert.deepEqual(value.entry[value.entry.length - 1], entry);
  });

  it('still finds a forbidden key at the very end of a large body', () => {
    const big = { resourceType: 'Bundle', entry: Array.from({ length: 20_000 }, (_, i) => ({ fullUrl: `urn:x:${i}` })) };
    const text = JSON.stringify(big).replace(/}\]}$/, ',"constructor":1}]}');
    assert.deepEqual(rejects(() => parse(text)).expression, ['Bundle.entry[19999].constructor']);
  });
});

describe('assertSafeJsonValue', () => {
  it('accepts a plain parsed value and primitives', () => {
    assert.doesNotThrow(() => assertSafeJsonValue({ resourceType: 'Patient', name: [{ given: ['a'] }] }, limits));
    assert.doesNotThrow(() => assertSafeJsonValue(42, limits));
    assert.doesNotThrow(() => assertSafeJsonValue(null, limits));
  });

  it('applies the depth limit, with the root at depth 1', () => {
    assert.doesNotThrow(() => assertSafeJsonValue({ a: { b: {} } }, { maxDepth: 3 }));
    assert.match(rejects(() => assertSafeJsonValue({ a: { b: { c: {} } } }, { maxDepth: 3 })).diagnostics!, /limit of 3/);
  });

  it('rejects forbidden keys created with JSON.parse, prefixed by basePath', () => {
    const resource = JSON.parse('{"resourceType":"Patient","extension":[{"__proto__":{}}]}');
    const issue = rejects(() => assertSafeJsonValue(resource, limits, 'Bundle.entry[3].resource'));
    assert.deepEqual(issue.expression, ['Bundle.entry[3].resource.extension[0].__proto__']);
  });

  it('rejects NUL in a nested string and in a top-level string', () => {
    assert.deepEqual(rejects(() => assertSafeJsonValue({ a: ['ok', 'b\u0000'] }, limits)).expression, ['a[1]']);
    assert.match(rejects(() => assertSafeJsonValue('x\u0000', limits)).diagnostics!, /NUL/);
  });

  it('terminates on a cyclic value (the depth limit bounds the walk)', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.match(rejects(() => assertSafeJsonValue(cyclic, limits)).diagnostics!, /deeper than the limit/);
  });
});
