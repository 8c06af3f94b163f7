// Property test on real PostgreSQL: for the date, number and quantity modules
// (src/search/params/{date,number,quantity}.ts; FHIR R4 search.html#prefix), the SQL predicate
// returns exactly the rows the in-memory matcher accepts, and the sort expressions agree with
// the entries. ~300 generated indexes (seeded PRNG; dates at every precision, Periods with
// open ends, Timings, several and missing values, decimals around precision boundaries,
// quantities with and without units, UCUM units compared through their canonical forms) against
// every prefix × precision, comma ORs and :missing.
// Seed: HEARTH_RANGES_SEED (default below), printed in the title to reproduce a failure.
import assert from 'node:assert/strict';
import { dateParam, sortExpression as dateSort } from '../../../src/search/params/date.js';
import { numberParam, sortExpression as numberSort } from '../../../src/search/params/number.js';
import { PREFIXES } from '../../../src/search/params/prefix.js';
import { ISO_4217, quantityParam, sortExpression as quantitySort } from '../../../src/search/params/quantity.js';
import type { ParamTypeModule, ParsedValue, SearchIndex, SearchParamDef, SearchParamType, SqlBinds } from '../../../src/search/types.js';
import { testPool } from '../../support/database.js';
import { prng, type Rng } from '../../support/prng.js';
import { requireServices } from '../../support/services.js';
import { SpTable, type SpRow } from '../../support/sp-table.js';

const SEED = Number(process.env.HEARTH_RANGES_SEED ?? 20261123);
const UCUM = 'http://unitsofmeasure.org';

const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)];
const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const times = <T>(n: number, make: () => T): T[] => Array.from({ length: n }, make);

function def(code: string, type: SearchParamType): SearchParamDef {
  return { code, type, url: `http://example.org/sp/${encodeURIComponent(code)}`, resourceType: 'Observation', expression: '', targets: [], extract: () => [] };
}

// --- Generators ----------------------------------------------------------------------------

/** A date/dateTime/instant near the 2018-2022 year boundaries, at a random precision. */
function dateLexeme(r: Rng, withMinutes = false): string {
  const y = int(r, 2018, 2022);
  const [m, d] = r() < 0.4 ? pick(r, [[12, 31], [1, 1], [6, 30], [7, 1]]) : [int(r, 1, 12), int(r, 1, 28)];
  const day = `${y}-${pad(m)}-${pad(d)}`;
  const time = `${pad(pick(r, [0, 10, 23]))}:${pad(pick(r, [0, 30, 59]))}`;
  const zone = pick(r, ['Z', '+02:00', '-05:00', '+14:00']);
  switch (int(r, 0, withMinutes ? 6 : 5)) {
    case 0: return `${y}`;
    case 1: return `${y}-${pad(m)}`;
    case 2:
    case 3: return day;
    case 4: return `${day}T${time}:${pad(pick(r, [0, 59]))}${zone}`;
    case 5: return `${day}T${time}:${pad(pick(r, [0, 59]))}.${pad(int(r, 0, 999), 3)}Z`;
    default: return `${day}T${time}${zone}`;
  }
}

function dateValue(r: Rng): unknown {
  const k = r();
  if (k < 0.55) return dateLexeme(r);
  if (k < 0.85) {
    const period: Record<string, string> = {};
    if (r() < 0.75) period.start = dateLexeme(r);
    if (r() < 0.65) period.end = dateLexeme(r);
    return period;
  }
  if (k < 0.95) {
    const timing: Record<string, unknown> = { event: times(int(r, 0, 3), () => dateLexeme(r)) };
    if (r() < 0.4) timing.repeat = { boundsPeriod: r() < 0.5 ? { start: dateLexeme(r) } : { start: dateLexeme(r), end: dateLexeme(r) } };
    return timing;
  }
  return pick(r, ['2020-02-30', 'soon', true, '2020-01-01T10:00:00']);
}

const NUMBERS = [99.5, 100, 100.4999, 100.5, 99.4999, 99.95, 100.05, 0.45, 0.5, 0.55, -100.5, -99.5, -100, 50, 150, 149.99, 95, 105, 0, 110.5, 89.5, 2.675, 0.001];

function decimal(r: Rng): number {
  return r() < 0.7 ? pick(r, NUMBERS) : Math.round(r() * 40000 - 10000) / pick(r, [1, 10, 100, 1000]);
}

function numberValue(r: Rng): unknown {
  const k = r();
  if (k < 0.75) return decimal(r);
  if (k < 0.92) {
    const range: Record<string, unknown> = {};
    if (r() < 0.8) range.low = { value: decimal(r) };
    if (r() < 0.8) range.high = { value: decimal(r) };
    return range;
  }
  return { value: decimal(r), comparator: pick(r, ['<', '<=', '>', '>=']) };
}

function quantityValue(r: Rng): unknown {
  const value = decimal(r);
  switch (int(r, 0, 7)) {
    case 0:
    case 1: return { value, unit: 'mg', system: UCUM, code: 'mg' };
    case 2: return { value, unit: 'mg' };
    case 3: return { value, unit: 'gram', system: UCUM, code: 'g' };
    case 4: return { value, currency: 'EUR' };
    case 5: return { value };
    case 6: return { value, comparator: pick(r, ['<', '>=']), unit: 'mg', system: UCUM, code: 'mg' };
    default: {
      const grams = (v: number) => ({ value: v, unit: 'g', system: UCUM, code: 'g' });
      return r() < 0.6 ? { low: grams(value), high: grams(value + int(r, 0, 50)) } : { low: grams(value) };
    }
  }
}

// --- Parameters under test -----------------------------------------------------------------

interface Case {
  module: ParamTypeModule;
  def: SearchParamDef;
  value: (r: Rng) => unknown;
  sort: (def: SearchParamDef, sp: string, direction: 'asc' | 'desc') => string;
  /** Query values without prefix. */
  queries: (r: Rng) => string[];
}

// UCUM searches in g and kg also reach the mg values through canonical forms (quantity.ts).
const QUANTITY_UNITS = ['', '||mg', `|${UCUM}|mg`, `|${UCUM}|g`, `|${UCUM}|kg`, '||g', '||gram', `|${ISO_4217}|EUR`, `|${UCUM}|EUR`];
const NUMBER_QUERIES = ['100', '100.0', '100.00', '1e2', '1.0e2', '0.5', '-100', '99.5', '150', '0', '2.675', '110'];

const cases: Case[] = [
  {
    module: dateParam as ParamTypeModule,
    def: def('date', 'date'),
    value: dateValue,
    sort: dateSort,
    queries: (r) => ['2020', '2020-06', '2020-01-01', '2019-12-31', '2020-06-15T10:30Z', '2020-06-15T10:30:00+02:00', '2021-01-01T00:00:00.000Z', ...times(8, () => dateLexeme(r, true))],
  },
  {
    module: dateParam as ParamTypeModule,
    def: def(`we"ird'co\\de`, 'date'), // the key must survive quoting in jsonpath and SQL
    value: dateValue,
    sort: dateSort,
    queries: (r) => ['2020', ...times(3, () => dateLexeme(r, true))],
  },
  {
    module: numberParam as ParamTypeModule,
    def: def('probability', 'number'),
    value: numberValue,
    sort: numberSort,
    queries: (r) => [...NUMBER_QUERIES, ...times(4, () => String(decimal(r)))],
  },
  {
    module: quantityParam as ParamTypeModule,
    def: def('value-quantity', 'quantity'),
    value: quantityValue,
    sort: quantitySort,
    queries: (r) => [...NUMBER_QUERIES.slice(0, 8), String(decimal(r))].flatMap((n) => QUANTITY_UNITS.map((u) => `${n}${u}`)),
  },
];

/** Every prefix (and none) on each query value, comma ORs of random ones, and :missing. */
function queriesFor(c: Case, r: Rng): { modifier?: string; raw: string }[] {
  const bases = c.queries(r);
  const single = bases.flatMap((b) => ['', ...PREFIXES].map((p) => `${p}${b}`));
  const ors = times(Math.ceil(single.length / 4), () => times(int(r, 2, 3), () => pick(r, single)).join(','));
  return [...single.map((raw) => ({ raw })), ...ors.map((raw) => ({ raw })), { modifier: 'missing', raw: 'true' }, { modifier: 'missing', raw: 'false' }];
}

/** Indexes as the indexer builds them (module.index only when there are values), plus NULL rows. */
function generateRows(r: Rng, count: number): SpRow[] {
  const rows: SpRow[] = [];
  for (let i = 0; i < count; i++) {
    const index: SearchIndex = {};
    for (const c of cases) {
      const values = times(pick(r, [0, 0, 1, 1, 1, 2, 3]), () => c.value(r));
      if (values.length > 0) c.module.index(c.def, values, index);
    }
    rows.push({ id: `r${pad(i, 4)}`, index });
  }
  for (let i = 0; i < 5; i++) rows.push({ id: `null${i}`, index: {}, nullSp: true });
  return rows;
}

describe(`range parameters: SQL = in-memory matcher (integration, seed ${SEED})`, function () {
  const rng = prng(SEED);
  const rows = generateRows(rng, 300);
  let table: SpTable | undefined;

  before(async function () {
    await requireServices(this);
    table = await SpTable.create(await testPool(), 'ranges', rows);
  });

  after(async () => {
    await table?.drop();
  });

  for (const c of cases) {
    it(`${c.def.type} '${c.def.code}': every query returns the same ids from SQL and memory`, async () => {
      const queries = queriesFor(c, rng).map(({ modifier, raw }) => {
        const values = raw.split(',').map((v): ParsedValue => c.module.parse(c.def, modifier, v));
        return {
          label: `${c.def.code}${modifier ? `:${modifier}` : ''}=${raw}`,
          predicate: (binds: SqlBinds) => c.module.predicate(c.def, modifier, values, 'r.sp', binds),
          matches: (index: SearchIndex) => c.module.matches(c.def, modifier, values, index),
        };
      });
      let informative = 0;
      for (const result of await table!.compare(queries, 60)) {
        table!.assertSame(result, (row) => row.index[c.def.code]);
        if (table!.splits(result.memory)) informative++;
      }
      // The comparison means something only if most queries split the rows.
      assert.ok(informative > queries.length * 0.6, `only ${informative} of ${queries.length} queries split the rows`);
    });
  }

  for (const c of cases) {
    it(`${c.def.type} '${c.def.code}': sort keys are the lowest lo (asc) and highest hi (desc), NULL when missing`, async () => {
      const asc = c.sort(c.def, 'r.sp', 'asc');
      const desc = c.sort(c.def, 'r.sp', 'desc');
      const { rows: result } = await table!.query<{ id: string; a: string | null; d: string | null }>(
        `SELECT r.id, (${asc})::text AS a, (${desc})::text AS d FROM "${table!.name}" r ORDER BY COALESCE((${asc})::numeric, 'Infinity'::numeric), r.id`,
      );
      const key = (row: SpRow, at: 0 | 1) => {
        const entries = (row.index[c.def.code] ?? []) as (number | null)[][];
        if (entries.length === 0) return null;
        const ends = entries.map((e) => e[at] ?? (at === 0 ? -Infinity : Infinity));
        return at === 0 ? Math.min(...ends) : Math.max(...ends);
      };
      const expected = [...rows].sort((x, y) => (key(x, 0) ?? Infinity) - (key(y, 0) ?? Infinity) || (x.id < y.id ? -1 : 1));
      assert.deepEqual(result.map((row) => row.id), expected.map((row) => row.id), 'ORDER BY the asc key');
      for (const row of result) {
        const source = rows.find((x) => x.id === row.id) as SpRow;
        assert.equal(row.a === null ? null : Number(row.a), key(source, 0), `asc key of ${row.id}`);
        assert.equal(row.d === null ? null : Number(row.d), key(source, 1), `desc key of ${row.id}`);
      }
    });
  }
});
