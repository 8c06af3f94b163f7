// Unit tests for src/search/params/quantity.ts (FHIR R4 search.html#quantity, #prefix,
// #escaping): the three value forms, escapes, index entries of Quantity/Money/Range, matching
// on number and unit, UCUM canonical forms (comparable units match), and SQL text.
import assert from 'node:assert/strict';
import { ISO_4217, parseQuantityQuery, quantityEntries, quantityParam, sortExpression, splitPipes } from '../../../../src/search/params/quantity.js';
import type { SearchIndex } from '../../../../src/search/types.js';
import { assertBadRequest, assertOnlyPlaceholders, paramDef, TestBinds } from './support.js';

const def = paramDef('value-quantity', 'quantity');
const UCUM = 'http://unitsofmeasure.org';


function matches(query: string, ...values: unknown[]): boolean {
  const index: SearchIndex = {};
  quantityParam.index(def, values, index);
  return quantityParam.matches(def, undefined, [quantityParam.parse(def, undefined, query)], index);
}

const mg = (value: number) => ({ value, unit: 'mg', system: UCUM, code: 'mg' });

describe('quantity search parameters (search.html#quantity)', () => {
  describe('parsing', () => {
    it('[prefix]number|system|code', () => {
      const q = parseQuantityQuery(def, `le5.4|${UCUM}|mg`);
      assert.deepEqual(
        { prefix: q.prefix, value: q.value, lo: q.lo, hi: q.hi, system: q.system, code: q.code },
        { prefix: 'le', value: 5.4, lo: 5.35, hi: 5.45, system: UCUM, code: 'mg' },
      );
    });

    it('[prefix]number||code', () => {
      const q = parseQuantityQuery(def, '5.4||mg');
      assert.deepEqual([q.prefix, q.value, q.system, q.code], ['eq', 5.4, undefined, 'mg']);
    });

    it('[prefix]number (any unit), also written number||', () => {
      for (const raw of ['gt5.4', 'gt5.4||']) {
        const q = parseQuantityQuery(def, raw);
        assert.deepEqual([q.prefix, q.value, q.system, q.code], ['gt', 5.4, undefined, undefined]);
      }
    });

    it('escaped \\| \\, \\$ \\\\ in system and code', () => {
      assert.deepEqual(splitPipes('5|urn:a\\|b|m\\|g'), ['5', 'urn:a|b', 'm|g']);
      const q = parseQuantityQuery(def, '5|urn:x\\,y\\$z\\\\|c\\|d');
      assert.deepEqual([q.system, q.code], ['urn:x,y$z\\', 'c|d']);
    });

    it('malformed values → 400 naming the parameter', () => {
      assertBadRequest(() => quantityParam.parse(def, undefined, `5.4|${UCUM}`), 'value-quantity', /must be \[prefix\]number/);
      assertBadRequest(() => quantityParam.parse(def, undefined, '5.4|a|b|c'), 'value-quantity', /must be \[prefix\]number/);
      assertBadRequest(() => quantityParam.parse(def, undefined, `5.4|${UCUM}|`), 'value-quantity', /system but no code/);
      assertBadRequest(() => quantityParam.parse(def, undefined, '|sys|mg'), 'value-quantity', /not a valid decimal/);
      assertBadRequest(() => quantityParam.parse(def, undefined, 'five||mg'), 'value-quantity', /not a valid decimal/);
      assertBadRequest(() => quantityParam.parse(def, undefined, 'xx5||mg'), 'value-quantity', /unknown prefix 'xx'/);
    });
  });

  describe('index entries [lo, hi, system, code, unit], and for UCUM [.., canonicalLo, canonicalHi, canonicalCode]', () => {
    it('Quantity and its profiles (Age, Duration, ...)', () => {
      assert.deepEqual(quantityEntries(mg(5.4)), [[5.4, 5.4, UCUM, 'mg', 'mg', 0.0054, 0.0054, 'g']]);
      assert.deepEqual(quantityEntries({ value: 3, unit: 'years' }), [[3, 3, null, null, 'years']]);
      assert.deepEqual(quantityEntries({ value: 3, comparator: '<', unit: 'mmol/L' }), [[null, 3, null, null, 'mmol/L']]);
      assert.deepEqual(quantityEntries({ value: 3, comparator: '>' }), [[3, null, null, null, null]]);
    });

    it('Money, Range and bare numbers', () => {
      assert.deepEqual(quantityEntries({ value: 12.5, currency: 'EUR' }), [[12.5, 12.5, ISO_4217, 'EUR', null]]);
      assert.deepEqual(quantityEntries({ low: mg(1), high: mg(3) }), [[1, 3, UCUM, 'mg', 'mg', 0.001, 0.003, 'g']]);
      assert.deepEqual(quantityEntries({ high: { value: 3, unit: 'g' } }), [[null, 3, null, null, 'g']]);
      assert.deepEqual(quantityEntries(7), [[7, 7, null, null, null]]);
    });

    it('UCUM canonical parts: comparable units share a code; open ends stay open; none for what does not convert', () => {
      const ucum = (value: number, code: string, extra: object = {}) => ({ value, unit: code, system: UCUM, code, ...extra });
      assert.deepEqual(quantityEntries(ucum(120, 'mg/dL')), [[120, 120, UCUM, 'mg/dL', 'mg/dL', 1200, 1200, 'g.m-3']]);
      assert.deepEqual(quantityEntries(ucum(1.2, 'g/L')), [[1.2, 1.2, UCUM, 'g/L', 'g/L', 1200, 1200, 'g.m-3']]);
      assert.deepEqual(quantityEntries(ucum(37, 'Cel')), [[37, 37, UCUM, 'Cel', 'Cel', 310.15, 310.15, 'K']]);
      assert.deepEqual(quantityEntries(ucum(3, 'mg', { comparator: '<' })), [[null, 3, UCUM, 'mg', 'mg', null, 0.003, 'g']]);
      assert.deepEqual(quantityEntries(ucum(2, '10*3/uL')), [[2, 2, UCUM, '10*3/uL', '10*3/uL', 2e12, 2e12, 'm-3']]);
      // Not UCUM, arbitrary ([IU]), decreasing ([pH]), unknown, or no UCUM system: no canonical parts.
      assert.deepEqual(quantityEntries(ucum(3, '[IU]/L')), [[3, 3, UCUM, '[IU]/L', '[IU]/L']]);
      assert.deepEqual(quantityEntries(ucum(7, '[pH]')), [[7, 7, UCUM, '[pH]', '[pH]']]);
      assert.deepEqual(quantityEntries(ucum(7, 'bogus')), [[7, 7, UCUM, 'bogus', 'bogus']]);
      assert.deepEqual(quantityEntries({ value: 120, unit: 'mg/dL', system: 'http://example.org/units', code: 'mg/dL' }), [[120, 120, 'http://example.org/units', 'mg/dL', 'mg/dL']]);
    });

    it('nothing to index without a value', () => {
      for (const none of [{ unit: 'mg' }, { low: { unit: 'mg' } }, '5', null, true]) assert.deepEqual(quantityEntries(none), [], JSON.stringify(none));
    });
  });

  describe('matching', () => {
    it('a UCUM search matches values in comparable units (search.html#quantity), by their canonical form', () => {
      const ucum = (value: number, code: string) => ({ value, unit: code, system: UCUM, code });
      assert.equal(matches(`ge1|${UCUM}|g/L`, ucum(120, 'mg/dL')), true, '120 mg/dL = 1.2 g/L');
      assert.equal(matches(`ge1|${UCUM}|g/L`, ucum(80, 'mg/dL')), false, '80 mg/dL = 0.8 g/L');
      assert.equal(matches(`eq100|${UCUM}|mg/dL`, ucum(1, 'g/L')), true, '1 g/L = 100 mg/dL');
      assert.equal(matches(`eq100|${UCUM}|mg/dL`, ucum(1.2, 'g/L')), false);
      assert.equal(matches(`lt1|${UCUM}|kg`, ucum(900, 'g')), true);
      assert.equal(matches(`gt37.5|${UCUM}|Cel`, ucum(98.6, '[degF]')), false, '98.6 °F = 37 °C');
      assert.equal(matches(`ge36.9|${UCUM}|Cel`, ucum(98.6, '[degF]')), true);
      assert.equal(matches(`ap37|${UCUM}|Cel`, ucum(310.15, 'K')), true);
      assert.equal(matches(`ne100|${UCUM}|mg/dL`, ucum(1, 'g/L')), false);
      // Incomparable units never match, whatever the numbers.
      assert.equal(matches(`ge1|${UCUM}|g/L`, ucum(5, 'mmol/L')), false);
      assert.equal(matches(`ge1|${UCUM}|g/L`, ucum(5, 's')), false);
      // Only a UCUM search converts: another system compares its own codes only.
      assert.equal(matches('ge1|http://example.org/units|g/L', ucum(120, 'mg/dL')), false);
      assert.equal(matches('ge1||g/L', ucum(120, 'mg/dL')), false);
    });

    it('an entry indexed before canonical parts existed still matches a UCUM search in its own unit', () => {
      const index: SearchIndex = { [def.code]: [[120, 120, UCUM, 'mg/dL', 'mg/dL']] };
      const found = (query: string) => quantityParam.matches(def, undefined, [quantityParam.parse(def, undefined, query)], index);
      assert.equal(found(`ge100|${UCUM}|mg/dL`), true);
      assert.equal(found(`ge1|${UCUM}|g/L`), false, 'reindexing adds what comparable units need');
      assert.equal(found(`ne100|${UCUM}|mg/dL`), true);
    });

    it('number|system|code: both must match', () => {
      assert.equal(matches(`5.4|${UCUM}|mg`, mg(5.4)), true);
      assert.equal(matches(`5.4|${UCUM}|mg`, mg(5.44)), true, 'within 5.4 ± 0.05');
      assert.equal(matches(`5.4|${UCUM}|mg`, mg(5.45)), false);
      assert.equal(matches(`5.4|${UCUM}|g`, mg(5.4)), false);
      assert.equal(matches('5.4|http://other|mg', mg(5.4)), false);
      assert.equal(matches(`5.4|${UCUM}|mg`, { value: 5.4, unit: 'mg' }), false, 'no system');
    });

    it('number||code: the code or the human unit', () => {
      assert.equal(matches('5.4||mg', mg(5.4)), true);
      assert.equal(matches('5.4||mg', { value: 5.4, unit: 'mg' }), true);
      assert.equal(matches('5.4||mg', { value: 5.4, code: 'mg', system: 'http://x' }), true);
      assert.equal(matches('5.4||mg', { value: 5.4, unit: 'milligram', code: 'g' }), false);
    });

    it('number alone: any unit, or none', () => {
      assert.equal(matches('5.4', mg(5.4)), true);
      assert.equal(matches('5.4', { value: 5.4 }), true);
      assert.equal(matches('5.4', { value: 5.5 }), false);
    });

    it('prefixes compare the exact value (same semantics as number)', () => {
      assert.equal(matches('gt5.4||mg', mg(5.41)), true);
      assert.equal(matches('gt5.4||mg', mg(5.4)), false);
      assert.equal(matches('ge5.4||mg', mg(5.4)), true);
      assert.equal(matches('lt5.4||mg', mg(5.39)), true);
      assert.equal(matches('le5.4||g', mg(5)), false, 'unit differs');
      assert.equal(matches('ne5.4||mg', mg(6)), true);
      assert.equal(matches('ne5.4||mg', { value: 6, unit: 'g' }), false, 'ne still requires the unit');
      assert.equal(matches('ap5||mg', mg(5.9)), true);
      assert.equal(matches('ap5||mg', mg(6)), false);
      assert.equal(matches(`sa100|${ISO_4217}|EUR`, { value: 100.5, currency: 'EUR' }), true);
      assert.equal(matches(`eb100|${ISO_4217}|EUR`, { value: 100.5, currency: 'EUR' }), false);
    });

    it('a comparator in the resource opens one side', () => {
      assert.equal(matches('lt3', { value: 5, comparator: '<' }), true);
      assert.equal(matches('gt3', { value: 5, comparator: '<' }), true, 'some value below 5 is above 3');
      assert.equal(matches('gt6', { value: 5, comparator: '<' }), false);
      assert.equal(matches('5', { value: 5, comparator: '<' }), false);
    });

    it('several values: any matches', () => {
      assert.equal(matches('5.4||mg', { value: 5.4, unit: 'g' }, mg(5.4)), true);
      assert.equal(matches('5.4||mg', { value: 5.4, unit: 'g' }, mg(6)), false);
    });
  });

  describe('SQL', () => {
    it('holds placeholders only, never numbers, systems or codes', () => {
      const binds = new TestBinds();
      const parsed = [`ge5.4|${UCUM}|mg'--`, '7||k"g'].map((v) => quantityParam.parse(def, undefined, v));
      const sql = quantityParam.predicate(def, undefined, parsed, 'r.sp', binds);
      assertOnlyPlaceholders(sql, ['5.4', 'unitsofmeasure', "mg'--", 'k"g', '7']);
      assert.ok(sql.includes('$1::jsonb'));
      const vars = Object.values(JSON.parse(binds.values[0] as string) as Record<string, unknown>);
      assert.ok(vars.includes(UCUM) && vars.includes("mg'--") && vars.includes('k"g'));
    });

    it('sort expressions', () => {
      assert.ok(sortExpression(def, 'r.sp', 'desc').startsWith('(SELECT max('));
    });
  });
});
