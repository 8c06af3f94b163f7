// Property test on real PostgreSQL for composite parameters (src/search/params/composite.ts;
// FHIR R4 search.html#composite): the SQL predicate returns exactly the rows the in-memory
// matcher accepts. ~200 generated Observations (seeded PRNG) indexed by the real indexer with
// the R4 definitions: blood-pressure-like panels with two components (codes with and without
// system, values around the query bounds, units, comparators, some components without a value
// or code), plain Observations with a Quantity, CodeableConcept, string, dateTime or Period
// value, and rows whose sp is NULL; queried with every R4 Observation composite, prefixes,
// comma ORs and :missing. An independent oracle on the resources themselves checks the
// same-component rule for component-code-value-quantity.
// Seed: HEARTH_COMPOSITE_SEED (default below), printed in the title to reproduce a failure.
import assert from 'node:assert/strict';
import { createIndexer } from '../../../src/search/indexer.js';
import { compositeParam } from '../../../src/search/params/composite.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import type { ParsedValue, SearchParamDef } from '../../../src/search/types.js';
import { testPool } from '../../support/database.js';
import { prng, type Rng } from '../../support/prng.js';
import { requireServices } from '../../support/services.js';
import { SpTable, type SpResult, type SpRow } from '../../support/sp-table.js';

const SEED = Number(process.env.HEARTH_COMPOSITE_SEED ?? 20260514);
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const SNOMED = 'http://snomed.info/sct';
const PANEL = '85354-9';
const SYSTOLIC = '8480-6';
const DIASTOLIC = '8462-4';
const WEIGHT = '29463-7';
const CONCEPT_CODE = '5778-6';
const STRING_CODE = '8251-1';
const DATE_CODE = '21112-8';

type Json = Record<string, unknown>;
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)];
const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

// --- Generators ----------------------------------------------------------------------------

const VALUES = [40, 59, 59.5, 60, 60.4, 61, 80, 99.5, 100, 100.5, 120, 150, 180];

function coding(r: Rng, code: string): Json {
  switch (int(r, 0, 5)) {
    case 0: return { coding: [{ code }] }; // no system
    case 1: return { coding: [{ system: 'http://example.org/local', code }] };
    case 2: return { coding: [{ system: LOINC, code }, { system: 'http://example.org/local', code: `L${code}` }] };
    default: return { coding: [{ system: LOINC, code }] };
  }
}

function quantity(r: Rng, value = pick(r, VALUES)): Json {
  switch (int(r, 0, 7)) {
    case 0: return { value, unit: 'mmHg' };
    case 1: return { value, unit: 'kg', system: UCUM, code: 'kg' };
    case 2: return { value, comparator: pick(r, ['<', '>=']), unit: 'mmHg', system: UCUM, code: 'mm[Hg]' };
    case 3: return { value };
    default: return { value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' };
  }
}

function component(r: Rng, code: string): Json {
  const out: Json = {};
  if (r() > 0.08) out.code = coding(r, code);
  const k = r();
  if (k < 0.8) out.valueQuantity = quantity(r);
  else if (k < 0.88) out.valueCodeableConcept = { coding: [{ system: SNOMED, code: pick(r, ['260385009', '10828004']) }] };
  // else: no value (data absent)
  return out;
}

function dateLexeme(r: Rng): string {
  const y = int(r, 2019, 2021);
  switch (int(r, 0, 3)) {
    case 0: return `${y}`;
    case 1: return `${y}-${pad(int(r, 1, 12))}`;
    case 2: return `${y}-${pad(int(r, 1, 12))}-${pad(int(r, 1, 28))}`;
    default: return `${y}-${pad(int(r, 1, 12))}-${pad(int(r, 1, 28))}T${pad(int(r, 0, 23))}:30:00Z`;
  }
}

function observation(r: Rng, id: string): Json {
  const base: Json = { resourceType: 'Observation', id, status: 'final' };
  const k = r();
  if (k < 0.55) {
    // A blood-pressure-like panel; sometimes the components come in another order, twice, or
    // with a third; sometimes the panel has a value of its own.
    const codes = [SYSTOLIC, DIASTOLIC];
    if (r() < 0.2) codes.reverse();
    if (r() < 0.1) codes.push(pick(r, [SYSTOLIC, DIASTOLIC, WEIGHT]));
    const out: Json = { ...base, code: coding(r, PANEL), component: codes.map((c) => component(r, c)) };
    if (r() < 0.15) out.valueQuantity = quantity(r);
    return out;
  }
  if (k < 0.72) return { ...base, code: coding(r, pick(r, [WEIGHT, SYSTOLIC])), valueQuantity: quantity(r) };
  if (k < 0.8) {
    const concept = { coding: [{ system: SNOMED, code: pick(r, ['260385009', '10828004', '167272009']) }], text: 'Urine' };
    return { ...base, code: coding(r, CONCEPT_CODE), valueCodeableConcept: concept };
  }
  if (k < 0.87) return { ...base, code: coding(r, STRING_CODE), valueString: pick(r, ['Clear', 'clear yellow', 'Crème brûlée', 'Cloudy', 'Amber']) };
  if (k < 0.95) {
    const value = r() < 0.5 ? { valueDateTime: dateLexeme(r) } : { valuePeriod: r() < 0.7 ? { start: dateLexeme(r), end: dateLexeme(r) } : { start: dateLexeme(r) } };
    return { ...base, code: coding(r, DATE_CODE), ...value };
  }
  return { ...base, code: coding(r, WEIGHT) }; // no value at all
}

// --- Queries --------------------------------------------------------------------------------

const PREFIXES = ['', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];
const NUMBERS = ['60', '100', '59.5', '150', '80', '120.0'];
const UNITS = ['', `|${UCUM}|mm[Hg]`, '||mmHg', '||kg'];

/** `code` in each token form: system|code, code, |code (no system), system| (any code). */
function codeForms(code: string): string[] {
  return [`${LOINC}|${code}`, code, `|${code}`, `http://example.org/local|${code}`];
}

function queryValues(r: Rng, code: string): string[] {
  const kind = code.endsWith('quantity') ? 'quantity' : code.endsWith('concept') ? 'concept' : code.endsWith('string') ? 'string' : 'date';
  // Codes that occur where the parameter looks (the components, the Observation, or both).
  const onComponents = code.startsWith('component-');
  const onObservation = code.startsWith('code-');
  const codes = {
    quantity: onComponents ? [SYSTOLIC, DIASTOLIC] : onObservation ? [WEIGHT, SYSTOLIC, PANEL] : [SYSTOLIC, DIASTOLIC, WEIGHT],
    concept: onComponents ? [SYSTOLIC, DIASTOLIC] : onObservation ? [CONCEPT_CODE] : [SYSTOLIC, CONCEPT_CODE],
    string: [STRING_CODE],
    date: [DATE_CODE],
  }[kind];
  const tokens = codes.flatMap(codeForms).concat(`${LOINC}|`);
  const second = (): string => {
    switch (kind) {
      case 'quantity': return `${pick(r, PREFIXES)}${pick(r, NUMBERS)}${pick(r, UNITS)}`;
      case 'concept': return pick(r, [`${SNOMED}|260385009`, '10828004', `${SNOMED}|`, `|167272009`, `${SNOMED}|167272009`]);
      case 'string': return pick(r, ['cl', 'clear', 'CREME', 'amb', 'yellow', 'x']);
      default: return `${pick(r, PREFIXES)}${dateLexeme(r)}`;
    }
  };
  const singles = times(kind === 'quantity' ? 160 : 60, () => `${pick(r, tokens)}$${second()}`);
  const ors = times(20, () => times(int(r, 2, 3), () => pick(r, singles)).join(','));
  return [...singles, ...ors];
}

interface Row extends SpRow {
  resource?: Json;
}

// --- Oracle: component-code-value-quantity from the resources ------------------------------

const components = (resource: Json | undefined) => (resource?.component ?? []) as Json[];
const hasCode = (c: Json, code: string) => (((c.code as Json | undefined)?.coding ?? []) as Json[]).some((x) => x.system === LOINC && x.code === code);

/** Does some component carry LOINC|code and a valueQuantity satisfying `gt n` / `lt n`? */
function oracle(resource: Json | undefined, code: string, prefix: 'gt' | 'lt', n: number): boolean {
  return components(resource).some((c) => {
    if (!hasCode(c, code)) return false;
    const q = c.valueQuantity as Json | undefined;
    if (!q || typeof q.value !== 'number') return false;
    const v = q.value;
    const [lo, hi] = q.comparator === '<' ? [-Infinity, v] : q.comparator === '>=' ? [v, Infinity] : [v, v];
    return prefix === 'gt' ? hi > n : lo < n;
  });
}

describe(`composite parameters: SQL = in-memory matcher (integration, seed ${SEED})`, function () {
  const rng = prng(SEED);
  const registry = createSearchRegistry();
  const indexer = createIndexer(registry);
  const rows: Row[] = [
    ...times(200, (i): Row => {
      const id = `o${pad(i, 4)}`;
      const resource = observation(rng, id);
      return { id, resource, index: indexer(resource) };
    }),
    ...times(4, (i): Row => ({ id: `null${i}`, index: {}, nullSp: true })),
  ];
  let table: SpTable<Row> | undefined;

  before(async function () {
    await requireServices(this);
    table = await SpTable.create(await testPool(), 'composite', rows, { gin: true });
  });

  after(async () => {
    await table?.drop();
  });

  /** Runs the queries in batches; returns, per query, the ids from SQL and from memory. */
  function compare(def: SearchParamDef, queries: { modifier?: string; raw: string }[]): Promise<SpResult[]> {
    return table!.compare(
      queries.map(({ modifier, raw }) => {
        // parse-query splits on unescaped commas; none of these values has an escaped one.
        const values = raw.split(',').map((v): ParsedValue => compositeParam.parse(def, modifier, v));
        return {
          label: `${def.code}${modifier ? `:${modifier}` : ''}=${raw}`,
          predicate: (binds) => compositeParam.predicate(def, modifier, values, 'r.sp', binds),
          matches: (index) => compositeParam.matches(def, modifier, values, index),
        };
      }),
    );
  }

  const CODES = [
    'component-code-value-quantity',
    'combo-code-value-quantity',
    'code-value-quantity',
    'component-code-value-concept',
    'combo-code-value-concept',
    'code-value-concept',
    'code-value-string',
    'code-value-date',
  ];

  for (const code of CODES) {
    it(`${code}: every query returns the same ids from SQL and memory`, async () => {
      const def = registry.get('Observation', code);
      assert.ok(def);
      const queries = [...queryValues(rng, code).map((raw) => ({ raw })), { modifier: 'missing', raw: 'true' }, { modifier: 'missing', raw: 'false' }];
      const results = await compare(def, queries);
      let informative = 0;
      for (const result of results) {
        table!.assertSame(result, (row) => row.index[code]);
        if (table!.splits(result.memory)) informative++;
      }
      // The comparison means something only if many queries split the rows.
      assert.ok(informative > results.length * 0.3, `only ${informative} of ${results.length} queries split the rows`);
    });
  }

  it('component-code-value-quantity: SQL agrees with an oracle on the resources (same component)', async () => {
    const def = registry.get('Observation', 'component-code-value-quantity');
    assert.ok(def);
    const cases = [SYSTOLIC, DIASTOLIC].flatMap((code) =>
      (['gt', 'lt'] as const).flatMap((prefix) => ['60', '99.5', '100', '150'].map((n) => ({ code, prefix, n: Number(n), raw: `${LOINC}|${code}$${prefix}${n}` }))),
    );
    const results = await compare(def, cases.map(({ raw }) => ({ raw })));
    let crossComponent = 0;
    results.forEach(({ label, sql }, i) => {
      const { code, prefix, n } = cases[i];
      const expected = rows.filter((row) => oracle(row.resource, code, prefix, n)).map((row) => row.id).sort();
      assert.deepEqual(sql, expected, label);
      // Rows with a component of that code, and another component whose value satisfies the
      // prefix, that must not match: they would if the parts could come from different components.
      const other = code === SYSTOLIC ? DIASTOLIC : SYSTOLIC;
      crossComponent += rows.filter(
        (row) => !expected.includes(row.id) && components(row.resource).some((c) => hasCode(c, code)) && oracle(row.resource, other, prefix, n),
      ).length;
    });
    assert.ok(crossComponent > 0, 'the data has panels that would match if components were mixed');
  });
});
