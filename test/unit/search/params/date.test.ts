// Unit tests for src/search/params/date.ts (FHIR R4 search.html#date, #prefix): range
// derivation from date/dateTime/instant/Period/Timing, query parsing, matching around the
// boundaries (including the spec's own examples), :missing, SQL text and sort expressions.
import assert from 'node:assert/strict';
import { dateEntries, dateParam, parseDateQuery, sortExpression } from '../../../../src/search/params/date.js';
import type { SearchIndex } from '../../../../src/search/types.js';
import { assertBadRequest, assertOnlyPlaceholders, paramDef, TestBinds } from './support.js';

const def = paramDef('date', 'date');
const ms = (iso: string) => Date.parse(iso);


function indexOf(...values: unknown[]): SearchIndex {
  const index: SearchIndex = {};
  dateParam.index(def, values, index);
  return index;
}

/** Does a resource with these date values match `query` (comma = OR)? */
function matches(query: string, ...values: unknown[]): boolean {
  const parsed = query.split(',').map((v) => dateParam.parse(def, undefined, v));
  return dateParam.matches(def, undefined, parsed, indexOf(...values));
}

describe('date search parameters (search.html#date)', () => {
  describe('range of a resource value', () => {
    it('date at year, month and day precision covers the whole period', () => {
      assert.deepEqual(dateEntries('2020'), [[ms('2020-01-01T00:00:00Z'), ms('2021-01-01T00:00:00Z')]]);
      assert.deepEqual(dateEntries('2020-02'), [[ms('2020-02-01T00:00:00Z'), ms('2020-03-01T00:00:00Z')]]);
      assert.deepEqual(dateEntries('2020-02-29'), [[ms('2020-02-29T00:00:00Z'), ms('2020-03-01T00:00:00Z')]]);
    });

    it('dateTime to the second, in UTC', () => {
      assert.deepEqual(dateEntries('2020-05-06T10:11:12+02:00'), [[ms('2020-05-06T08:11:12Z'), ms('2020-05-06T08:11:13Z')]]);
    });

    it('instant to the millisecond', () => {
      assert.deepEqual(dateEntries('2020-05-06T10:11:12.345Z'), [[ms('2020-05-06T10:11:12.345Z'), ms('2020-05-06T10:11:12.346Z')]]);
    });

    it('Period: from the start of start to the end of end; missing bounds are open', () => {
      assert.deepEqual(dateEntries({ start: '2020-01', end: '2020-03-15' }), [[ms('2020-01-01T00:00:00Z'), ms('2020-03-16T00:00:00Z')]]);
      assert.deepEqual(dateEntries({ start: '2020-01-21' }), [[ms('2020-01-21T00:00:00Z'), null]]);
      assert.deepEqual(dateEntries({ end: '2020' }), [[null, ms('2021-01-01T00:00:00Z')]]);
      assert.deepEqual(dateEntries({}), []);
      assert.deepEqual(dateEntries({ start: 'garbage', end: '2020' }), [], 'an unreadable bound is not an open one');
    });

    it('Timing: only the outer limits of events and boundsPeriod count', () => {
      const timing = { event: ['2020-03-05', '2020-01-01T08:00:00Z', '2020-02-10'] };
      assert.deepEqual(dateEntries(timing), [[ms('2020-01-01T08:00:00Z'), ms('2020-03-06T00:00:00Z')]]);
      const bounded = { event: ['2020-03-05'], repeat: { frequency: 2, period: 1, periodUnit: 'd', boundsPeriod: { start: '2020-01-31', end: '2020-03-24' } } };
      assert.deepEqual(dateEntries(bounded), [[ms('2020-01-31T00:00:00Z'), ms('2020-03-25T00:00:00Z')]]);
      assert.deepEqual(dateEntries({ repeat: { boundsPeriod: { start: '2020-01-31' } } }), [[ms('2020-01-31T00:00:00Z'), null]]);
      assert.deepEqual(dateEntries({ repeat: { frequency: 1 } }), []);
      assert.deepEqual(dateEntries({ code: { text: 'BID' } }), []);
    });

    it('values that are not dates are not indexed', () => {
      for (const bad of ['2020-02-30', 'tomorrow', '2020-01-01T10:00:00', true, 42, null, ['2020']]) assert.deepEqual(dateEntries(bad), [], String(bad));
    });

    it('index: one entry per distinct value, no key when there is none', () => {
      assert.deepEqual(indexOf('2020', '2020', { start: '2021' }), { date: [[ms('2020-01-01T00:00:00Z'), ms('2021-01-01T00:00:00Z')], [ms('2021-01-01T00:00:00Z'), null]] });
      assert.deepEqual(indexOf('nonsense', false), {});
    });
  });

  describe('parsing', () => {
    it('prefix and range of the search value', () => {
      const q = parseDateQuery(def, 'ge2013-01-14');
      assert.equal(q.prefix, 'ge');
      assert.equal(q.raw, 'ge2013-01-14');
      assert.deepEqual([q.lo, q.hi], [ms('2013-01-14T00:00:00Z'), ms('2013-01-15T00:00:00Z')]);
      assert.equal(parseDateQuery(def, '2013-01-14T10:00Z').hi - parseDateQuery(def, '2013-01-14T10:00Z').lo, 60_000);
    });

    it('ap widens each end by 10% of its distance from now', () => {
      const now = ms('2030-01-01T00:00:00Z');
      const q = parseDateQuery(def, 'ap2020', now);
      assert.equal(q.approxLo, q.lo - Math.round((now - q.lo) / 10));
      assert.equal(q.approxHi, q.hi + Math.round((now - q.hi) / 10));
    });

    it('invalid dates → 400 naming the parameter', () => {
      assertBadRequest(() => dateParam.parse(def, undefined, '2020-13'), 'date', /not a real calendar date/);
      assertBadRequest(() => dateParam.parse(def, undefined, 'ge20200101'), 'date', /not a valid FHIR date/);
      assertBadRequest(() => dateParam.parse(def, undefined, ''), 'date', /not a valid FHIR date/);
      assertBadRequest(() => dateParam.parse(def, undefined, 'xx2020'), 'date', /unknown prefix 'xx'/);
    });

    it('a time without a zone → 400 (the zone is not guessed)', () => {
      assertBadRequest(() => dateParam.parse(def, undefined, 'lt2013-01-14T10:00'), 'date', /no time zone/);
    });
  });

  describe('the examples of search.html#date (times in UTC)', () => {
    it('eq2013-01-14: 2013-01-14T00:00 and T10:00 match, 2013-01-15T00:00 does not', () => {
      assert.equal(matches('eq2013-01-14', '2013-01-14T00:00:00Z'), true);
      assert.equal(matches('eq2013-01-14', '2013-01-14T10:00:00Z'), true);
      assert.equal(matches('eq2013-01-14', '2013-01-15T00:00:00Z'), false);
      assert.equal(matches('2013-01-14', '2013-01-14T23:59:59Z'), true, 'eq is the default');
    });

    it('ne2013-01-14: 2013-01-15T00:00 matches, 2013-01-14T00:00 and T10:00 do not', () => {
      assert.equal(matches('ne2013-01-14', '2013-01-15T00:00:00Z'), true);
      assert.equal(matches('ne2013-01-14', '2013-01-14T00:00:00Z'), false);
      assert.equal(matches('ne2013-01-14', '2013-01-14T10:00:00Z'), false);
    });

    it('lt2013-01-14T10:00: 2013-01-14 matches (it includes the part of the day before 10:00)', () => {
      assert.equal(matches('lt2013-01-14T10:00Z', '2013-01-14'), true);
      assert.equal(matches('lt2013-01-14T10:00Z', '2013-01-14T10:00:00Z'), false);
      assert.equal(matches('lt2013-01-14T10:00Z', '2013-01-14T09:59:59Z'), true);
    });

    it('gt2013-01-14T10:00: 2013-01-14 matches (it includes the part of the day after 10:00)', () => {
      assert.equal(matches('gt2013-01-14T10:00Z', '2013-01-14'), true);
      assert.equal(matches('gt2013-01-14T10:00Z', '2013-01-14T10:00:59Z'), false);
      assert.equal(matches('gt2013-01-14T10:00Z', '2013-01-14T10:01:00Z'), true);
    });

    it('ge/le2013-03-14: a period "from 21-Jan 2013 onwards" matches both', () => {
      const onwards = { start: '2013-01-21' };
      assert.equal(matches('ge2013-03-14', onwards), true);
      assert.equal(matches('le2013-03-14', onwards), true);
      assert.equal(matches('eq2013-03-14', onwards), false);
      assert.equal(matches('sa2013-03-14', onwards), false);
    });
  });

  describe('prefixes around the boundaries of 2020', () => {
    const table: [string, unknown, boolean][] = [
      ['gt2020', '2021-01-01', true], ['gt2020', '2020-12-31', false], ['gt2020', '2020', false], ['gt2020', { start: '2020-06' }, true],
      ['ge2020', '2020', true], ['ge2020', '2020-06', true], ['ge2020', '2019-12-31', false], ['ge2020', { start: '2019-12', end: '2020-01' }, false],
      ['lt2020', '2019-12-31T23:59:59Z', true], ['lt2020', '2020-01-01', false], ['lt2020', '2019', true], ['lt2020', { end: '2020-06' }, true],
      ['le2020', '2020-12-31', true], ['le2020', '2021', false], ['le2020', '2019-06', true],
      ['sa2020', '2021-01-01', true], ['sa2020', '2020-12-31T23:59:59Z', false], ['sa2020', { start: '2020-12', end: '2021-02' }, false], ['sa2020', { start: '2021' }, true],
      ['eb2020', '2019-12-31', true], ['eb2020', { start: '2019-12', end: '2020-01' }, false], ['eb2020', { end: '2019' }, true], ['eb2020', '2020-01-01', false],
      ['eq2020', '2020-06-15T12:00:00Z', true], ['eq2020', { start: '2020-02', end: '2020-11' }, true], ['eq2020', { start: '2020-02' }, false], ['eq2020', '2019-12-31T23:59:59Z', false],
      ['eq2020-06', '2020', false], ['ne2020-06', '2020', true],
    ];
    for (const [query, value, expected] of table) {
      it(`${query} vs ${JSON.stringify(value)} → ${expected}`, () => assert.equal(matches(query, value), expected));
    }

    it('ap2020 matches what overlaps 2020 widened by 10% of the distance to now', () => {
      const now = Date.now();
      const q = [parseDateQuery(def, 'ap2020', now)];
      const test = (v: unknown) => dateParam.matches(def, undefined, q, indexOf(v));
      assert.equal(test('2020-06'), true);
      const justBefore = new Date(q[0].approxLo - 1000).toISOString().slice(0, 19) + 'Z';
      const justInside = new Date(q[0].approxLo).toISOString().slice(0, 19) + 'Z';
      assert.equal(test(justBefore), false);
      assert.equal(test(justInside), true);
      assert.equal(test('2010'), false);
    });
  });

  describe('several values', () => {
    it('the resource matches if any value matches; comma in the query is OR', () => {
      assert.equal(matches('eq2020', '2019', '2021'), false);
      assert.equal(matches('eq2020', '2019', '2020-05'), true);
      assert.equal(matches('eq2018,eq2021', '2019', '2021-03'), true);
      assert.equal(matches('eq2018,eq2022', '2019', '2021-03'), false);
    });

    it('ne: matches when some value is not eq; never without values', () => {
      assert.equal(matches('ne2020', '2020'), false);
      assert.equal(matches('ne2020', '2020', '2021'), true);
      assert.equal(matches('ne2020'), false);
    });
  });

  describe('SQL', () => {
    it('holds placeholders only, never the values', () => {
      const b = new TestBinds();
      const parsed = ['ge2013-01-14', 'ap1999-12-31T23:59:59Z'].map((v) => dateParam.parse(def, undefined, v));
      const sql = dateParam.predicate(def, undefined, parsed, 'r.sp', b);
      assert.equal(b.values.length, 1);
      assert.ok(sql.includes('$1::jsonb'));
      assertOnlyPlaceholders(sql, ['2013', '1999', String(ms('2013-01-14T00:00:00Z'))]);
      assert.match(sql, /^COALESCE\(jsonb_path_exists\(r\.sp, 'strict \$ \? \(exists\(@\."date"\)\)\."date"\[\*\] \? /);
      const vars = JSON.parse(b.values[0] as string) as Record<string, number>;
      assert.ok(Object.values(vars).includes(ms('2013-01-15T00:00:00Z')));
    });

    it('quotes and escapes the key', () => {
      const odd = { ...def, code: `a"b'c\\d` };
      const sql = dateParam.predicate(odd, undefined, [dateParam.parse(odd, undefined, '2020')], 'sp', new TestBinds());
      assert.ok(sql.includes(`."a\\"b''c\\\\d"[*]`), sql);
      assert.ok(sortExpression(odd, 'sp', 'asc').includes(`sp -> 'a"b''c\\d'`));
    });

    it(':missing', () => {
      assert.equal(dateParam.predicate(def, 'missing', [{ raw: 'false' }], 'r.sp', new TestBinds()), `(jsonb_path_exists(r.sp, '$."date"[*]'))`);
      assert.match(dateParam.predicate(def, 'missing', [{ raw: 'true' }], 'r.sp', new TestBinds()), /^NOT COALESCE/);
    });

    it('sort: earliest start ascending, latest end descending', () => {
      assert.match(sortExpression(def, 'r.sp', 'asc'), /min\(COALESCE\(\(sp_entry\.e ->> 0\)::numeric, '-Infinity'::numeric\)\)/);
      assert.match(sortExpression(def, 'r.sp', 'desc'), /max\(COALESCE\(\(sp_entry\.e ->> 1\)::numeric, 'Infinity'::numeric\)\)/);
    });
  });
});
