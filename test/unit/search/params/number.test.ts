// Unit tests for src/search/params/number.ts (FHIR R4 search.html#number, #prefix): implicit
// precision of search values, exact resource values, Ranges, matching and SQL text.
import assert from 'node:assert/strict';
import { numberEntries, numberParam, parseDecimal, parseNumberQuery, sortExpression } from '../../../../src/search/params/number.js';
import type { SearchIndex } from '../../../../src/search/types.js';
import { assertBadRequest, assertOnlyPlaceholders, paramDef } from './support.js';

const def = paramDef('probability', 'number');


function matches(query: string, ...values: unknown[]): boolean {
  const index: SearchIndex = {};
  numberParam.index(def, values, index);
  return numberParam.matches(def, undefined, query.split(',').map((v) => numberParam.parse(def, undefined, v)), index);
}

describe('number search parameters (search.html#number)', () => {
  describe('implicit precision of the search value', () => {
    const cases: [string, number, number, number][] = [
      ['100', 100, 99.5, 100.5],
      ['100.0', 100, 99.95, 100.05],
      ['100.00', 100, 99.995, 100.005],
      ['1e2', 100, 50, 150], // one significant figure (R5 corrected R4's "95 to 105")
      ['1.0e2', 100, 95, 105],
      ['1E-2', 0.01, 0.005, 0.015],
      ['0.5', 0.5, 0.45, 0.55],
      ['0', 0, -0.5, 0.5],
      ['-100', -100, -100.5, -99.5],
      ['2.0', 2, 1.95, 2.05],
      ['123456789012345678901234567890', 1.2345678901234568e29, 1.2345678901234568e29, 1.2345678901234568e29],
    ];
    for (const [text, value, lo, hi] of cases) {
      it(`${text} → ${value} in [${lo}, ${hi})`, () => assert.deepEqual(parseDecimal(text), { value, lo, hi }));
    }

    it('bounds are exact decimals rounded once (no drift from binary arithmetic)', () => {
      assert.equal(parseDecimal('0.3')?.lo, 0.25);
      assert.equal(parseDecimal('2.675')?.hi, 2.6755);
      assert.equal(parseDecimal('0.1')?.hi, 0.15);
    });

    it('not FHIR decimals, or not finite', () => {
      for (const bad of ['', '1.', '.5', '+1', '01', '1e', '1,5', 'abc', '1e400', '-1e400', ' 1']) assert.equal(parseDecimal(bad), undefined, bad);
    });
  });

  describe('parsing', () => {
    it('prefix, exact value, precision range and the ap range (10% of the value)', () => {
      const q = parseNumberQuery(def, 'ap100');
      assert.deepEqual(q, { raw: 'ap100', prefix: 'ap', value: 100, lo: 99.5, hi: 100.5, approxLo: 89.5, approxHi: 110.5 });
    });

    it('invalid numbers → 400 naming the parameter', () => {
      assertBadRequest(() => numberParam.parse(def, undefined, 'ge1.'), 'probability', /'1\.' is not a valid decimal/);
      assertBadRequest(() => numberParam.parse(def, undefined, 'xx5'), 'probability', /unknown prefix/);
      assertBadRequest(() => numberParam.parse(def, undefined, '1e999'), 'probability', /not a valid decimal/);
    });
  });

  describe('resource values', () => {
    it('numbers are exact points; Ranges and comparators are intervals', () => {
      assert.deepEqual(numberEntries(0.25), [[0.25, 0.25]]);
      assert.deepEqual(numberEntries({ low: { value: 1 }, high: { value: 3 } }), [[1, 3]]);
      assert.deepEqual(numberEntries({ low: { value: 1 } }), [[1, null]]);
      assert.deepEqual(numberEntries({ high: { value: 3, unit: '%' } }), [[null, 3]]);
      assert.deepEqual(numberEntries({ value: 5, comparator: '<' }), [[null, 5]]);
      assert.deepEqual(numberEntries({ value: 5, comparator: '>=' }), [[5, null]]);
      assert.deepEqual(numberEntries({ value: 5 }), [[5, 5]]);
      for (const none of ['5', true, null, {}, { low: {} }, Number.NaN, [1]]) assert.deepEqual(numberEntries(none), [], String(none));
    });
  });

  describe('the examples of search.html#number', () => {
    const table: [string, number, boolean][] = [
      ['100', 99.5, true], ['100', 100.4999, true], ['100', 100.5, false], ['100', 99.4999, false], ['100', 100, true],
      ['100.00', 100.004, true], ['100.00', 100.005, false], ['100.00', 99.995, true], ['100.00', 100.01, false],
      ['1e2', 50, true], ['1e2', 149.9, true], ['1e2', 150, false], ['1e2', 49.9, false],
      ['lt100', 99.99, true], ['lt100', 100, false], ['lt100', 99.5, true],
      ['le100', 100, true], ['le100', 100.01, false],
      ['gt100', 100.01, true], ['gt100', 100, false], ['gt100', 100.4, true],
      ['ge100', 100, true], ['ge100', 99.99, false],
      ['ne100', 100.5, true], ['ne100', 100.2, false], ['ne100', 99.4, true],
      ['sa100', 100.01, true], ['sa100', 100, false],
      ['eb100', 99.99, true], ['eb100', 100, false],
      ['ap100', 89.5, true], ['ap100', 110.4, true], ['ap100', 89.4, false], ['ap100', 110.5, false],
      ['0.5', 0.45, true], ['0.5', 0.55, false], ['-100', -100.5, true], ['-100', -99.5, false],
    ];
    for (const [query, value, expected] of table) {
      it(`${query} vs ${value} → ${expected}`, () => assert.equal(matches(query, value), expected));
    }
  });

  describe('Ranges and several values', () => {
    const oneToThree = { low: { value: 1 }, high: { value: 3 } };
    it('a Range is the closed interval low..high', () => {
      assert.equal(matches('ge3', oneToThree), true);
      assert.equal(matches('gt3', oneToThree), false);
      assert.equal(matches('le1', oneToThree), true);
      assert.equal(matches('lt1', oneToThree), false);
      assert.equal(matches('eq2', oneToThree), false, 'not contained in [1.5, 2.5)');
      assert.equal(matches('ne2', oneToThree), true);
      assert.equal(matches('ap2', oneToThree), true, 'overlaps');
      assert.equal(matches('sa0.5', oneToThree), true);
      assert.equal(matches('eb3.5', oneToThree), true);
      assert.equal(matches('gt1000', { low: { value: 1 } }), true, 'open high end');
    });

    it('any value matches; comma is OR', () => {
      assert.equal(matches('100', 5, 100.2), true);
      assert.equal(matches('50,100', 5, 100.2), true);
      assert.equal(matches('50,60', 5, 100.2), false);
      assert.equal(matches('ne100', 100, 100.2), false);
      assert.equal(matches('ne100', 100, 7), true);
      assert.equal(matches('ne100'), false);
    });
  });

  describe('SQL', () => {
    it('holds placeholders only; values go in one jsonb bind', () => {
      const values: unknown[] = [];
      const binds = { add: (v: unknown) => (values.push(v), `$${values.length + 4}`) };
      const sql = numberParam.predicate(def, undefined, ['ge0.8', '123.456'].map((v) => numberParam.parse(def, undefined, v)), 'r.sp', binds);
      assert.ok(sql.includes('$5::jsonb'));
      assertOnlyPlaceholders(sql, ['0.8', '123', '.456']);
      assert.deepEqual(JSON.parse(values[0] as string), { v0: 0.8, v1: 123.4555, v2: 123.4565 });
    });

    it('sort expressions read the entries under the code', () => {
      assert.ok(sortExpression(def, 'r.sp', 'asc').includes(`r.sp -> 'probability'`));
    });
  });
});
