// Unit tests for src/search/params/prefix.ts: prefix parsing (FHIR R4 search.html#prefix), the
// range conditions shared by date/number/quantity, and their two evaluations (memory, jsonpath).
import assert from 'node:assert/strict';
import { dateParam } from '../../../../src/search/params/date.js';
import { numberParam } from '../../../../src/search/params/number.js';
import {
  all,
  any,
  decimalCondition,
  evaluate,
  hi,
  lo,
  not,
  periodCondition,
  PREFIXES,
  splitPrefix,
  textAt,
  toJsonPath,
  type Prefix,
  type QueryRange,
} from '../../../../src/search/params/prefix.js';
import { quantityParam } from '../../../../src/search/params/quantity.js';
import type { ParamTypeModule, SearchParamDef } from '../../../../src/search/types.js';
import { assertBadRequest, paramDef, TestBinds } from './support.js';


/** Asserts a 400 FhirError whose expression names `param` and whose text matches. */

describe('search prefixes (search.html#prefix)', () => {
  const date = paramDef('date', 'date');

  describe('splitPrefix', () => {
    it('recognizes every prefix', () => {
      assert.deepEqual([...PREFIXES], ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);
      for (const p of PREFIXES) assert.deepEqual(splitPrefix(date, `${p}2020`), { prefix: p, rest: '2020' });
    });

    it('defaults to eq', () => {
      assert.deepEqual(splitPrefix(date, '2020-01'), { prefix: 'eq', rest: '2020-01' });
      assert.deepEqual(splitPrefix(date, '-5'), { prefix: 'eq', rest: '-5' });
    });

    it('an unknown prefix is a 400 naming the parameter', () => {
      assertBadRequest(() => splitPrefix(date, 'xx2020'), 'date', /unknown prefix 'xx'/);
      assertBadRequest(() => dateParam.parse(date, undefined, 'xx2020'), 'date', /unknown prefix 'xx'/);
      assertBadRequest(() => numberParam.parse(paramDef('probability', 'number'), undefined, 'zz100'), 'probability', /unknown prefix 'zz'/);
      assertBadRequest(() => quantityParam.parse(paramDef('value-quantity', 'quantity'), undefined, 'qq5||mg'), 'value-quantity', /unknown prefix 'qq'/);
    });

    it('letters not followed by a value are the value, refused by its type', () => {
      assertBadRequest(() => dateParam.parse(date, undefined, 'today'), 'date', /not a valid FHIR date/);
      assertBadRequest(() => numberParam.parse(paramDef('n', 'number'), undefined, 'five'), 'n', /not a valid decimal/);
      assert.deepEqual(splitPrefix(date, 'ne-5'), { prefix: 'ne', rest: '-5' });
    });

    it('prefixes are lower case: GE2020 is not a date', () => {
      assertBadRequest(() => dateParam.parse(date, undefined, 'GE2020'), 'date', /not a valid FHIR date/);
    });

    it('a prefix without a value is refused by the type', () => {
      assertBadRequest(() => dateParam.parse(date, undefined, 'ge'), 'date', /not a valid FHIR date/);
      assertBadRequest(() => numberParam.parse(paramDef('n', 'number'), undefined, 'lt'), 'n', /not a valid decimal/);
    });
  });

  describe('modifiers: only :missing', () => {
    const modules: [ParamTypeModule, SearchParamDef][] = [
      [dateParam as ParamTypeModule, date],
      [numberParam as ParamTypeModule, paramDef('n', 'number')],
      [quantityParam as ParamTypeModule, paramDef('q', 'quantity')],
    ];

    it('declares no modifiers and refuses others with 400 naming code:modifier', () => {
      for (const [module, def] of modules) {
        assert.deepEqual(module.modifiers, []);
        assertBadRequest(() => module.parse(def, 'exact', '1'), `${def.code}:exact`, /not valid/);
        assertBadRequest(() => module.predicate(def, 'below', [], 'sp', new TestBinds()), `${def.code}:below`, /not valid/);
      }
    });

    it(':missing takes true or false', () => {
      for (const [module, def] of modules) {
        assert.deepEqual(module.parse(def, 'missing', 'true'), { raw: 'true' });
        assertBadRequest(() => module.parse(def, 'missing', 'yes'), `${def.code}:missing`, /true or false/);
        assert.equal(module.matches(def, 'missing', [{ raw: 'true' }], {}), true);
        assert.equal(module.matches(def, 'missing', [{ raw: 'false' }], {}), false);
        assert.equal(module.matches(def, 'missing', [{ raw: 'false' }], { [def.code]: [[1, 2]] }), true);
        assert.equal(module.matches(def, 'missing', [{ raw: 'true' }], { [def.code]: [[1, 2]] }), false);
        assert.equal(module.matches(def, 'missing', [{ raw: 'true' }], { [def.code]: [] }), true);
      }
    });
  });

  describe('period conditions (half-open ranges, dates)', () => {
    // Query range [10, 20); the resource ranges around it.
    const q: QueryRange = { lo: 10, hi: 20, approxLo: 8, approxHi: 23 };
    const cases: [Prefix, [number | null, number | null], boolean][] = [
      ['eq', [10, 20], true], ['eq', [12, 15], true], ['eq', [9, 15], false], ['eq', [12, 21], false], ['eq', [null, 15], false],
      ['ne', [10, 20], false], ['ne', [9, 15], true], ['ne', [12, null], true],
      ['gt', [12, 21], true], ['gt', [12, 20], false], ['gt', [20, 30], true], ['gt', [12, null], true], ['gt', [0, 5], false],
      ['lt', [9, 15], true], ['lt', [10, 15], false], ['lt', [null, 11], true], ['lt', [0, 5], true],
      ['ge', [12, 15], true], ['ge', [5, 21], true], ['ge', [5, 15], false], ['ge', [20, 21], true],
      ['le', [12, 15], true], ['le', [5, 21], true], ['le', [15, 25], false], ['le', [0, 10], true],
      ['sa', [20, 21], true], ['sa', [19, 21], false], ['sa', [25, null], true], ['sa', [null, 30], false],
      ['eb', [0, 10], true], ['eb', [0, 11], false], ['eb', [null, 5], true], ['eb', [0, null], false],
      ['ap', [7, 8], false], ['ap', [7, 9], true], ['ap', [22, 30], true], ['ap', [23, 30], false], ['ap', [null, null], true],
    ];
    for (const [prefix, entry, expected] of cases) {
      it(`${prefix} [10,20) vs [${entry}) → ${expected}`, () => {
        assert.equal(evaluate(periodCondition(prefix, q), entry), expected);
      });
    }
  });

  describe('decimal conditions (closed resource ranges, exact comparisons)', () => {
    const q: QueryRange = { lo: 99.5, hi: 100.5, approxLo: 89.5, approxHi: 110.5 };
    const cases: [Prefix, [number | null, number | null], boolean][] = [
      ['eq', [99.5, 99.5], true], ['eq', [100.5, 100.5], false], ['eq', [99, 100], false],
      ['ne', [100.5, 100.5], true], ['ne', [100, 100], false],
      ['gt', [100, 100], false], ['gt', [100.001, 100.001], true], ['gt', [1, 101], true], ['gt', [1, null], true],
      ['ge', [100, 100], true], ['ge', [1, 100], true], ['ge', [99.9, 99.9], false],
      ['lt', [100, 100], false], ['lt', [99.99, 99.99], true], ['lt', [null, 200], true],
      ['le', [100, 100], true], ['le', [100, 200], true], ['le', [100.01, 200], false],
      ['sa', [100, 200], false], ['sa', [100.01, 200], true],
      ['eb', [0, 100], false], ['eb', [0, 99.99], true],
      ['ap', [110.4, 200], true], ['ap', [110.5, 200], false], ['ap', [0, 89.5], true], ['ap', [0, 89.4], false],
    ];
    for (const [prefix, entry, expected] of cases) {
      it(`${prefix}100 vs [${entry}] → ${expected}`, () => {
        assert.equal(evaluate(decimalCondition(prefix, 100, q), entry), expected);
      });
    }
  });

  describe('toJsonPath', () => {
    it('puts every value into vars and only $names into the text', () => {
      const vars: Record<string, number | string> = {};
      const path = toJsonPath(any(all(lo('>=', 1.5), hi('<', 2.5)), not(textAt(3, "mg'; DROP"))), vars);
      assert.deepEqual(vars, { v0: 1.5, v1: 2.5, v2: "mg'; DROP" });
      assert.equal(
        path,
        '(((@[0] != null && @[0] >= $v0) && (@[1] != null && @[1] < $v1)) || !(@[3] == $v2))',
      );
      assert.ok(!path.includes('1.5') && !path.includes('DROP'));
    });

    it('open ends: lo null is -infinity, hi null is +infinity', () => {
      assert.equal(toJsonPath(lo('<', 5), {}), '(@[0] == null || @[0] < $v0)');
      assert.equal(toJsonPath(hi('>=', 5), {}), '(@[1] == null || @[1] >= $v0)');
      assert.equal(evaluate(lo('<', -1e300), [null, 0]), true);
      assert.equal(evaluate(lo('>', -1e300), [null, 0]), false);
      assert.equal(evaluate(hi('>', 1e300), [0, null]), true);
      assert.equal(evaluate(hi('<=', 1e300), [0, null]), false);
    });
  });
});
