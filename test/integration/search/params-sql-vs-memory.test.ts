// Property test for the token, reference, uri and string modules (src/search/params/*):
// for seeded random resources and queries (every modifier, comma ORs, escaping, accents,
// case variants, regex metacharacters, missing elements), the SQL predicate run by
// PostgreSQL over the `sp` index selects exactly the rows the in-memory matcher accepts
// (src/search/types.ts: "the matcher and the SQL both work on the SAME index entries").
// Each query runs twice: with sequential scans, and forced through the GIN jsonb_path_ops
// index, whose containment answers must be the same.
// HEARTH_PROPERTY_SEED=<n> explores another seed; a failure message names the seed and query.
import assert from 'node:assert/strict';
import { referenceParam } from '../../../src/search/params/reference.js';
import { stringParam } from '../../../src/search/params/string.js';
import { tokenParam } from '../../../src/search/params/token.js';
import { uriParam } from '../../../src/search/params/uri.js';
import type { ParamTypeModule, ParsedValue, SearchIndex, SearchParamDef, SearchParamType } from '../../../src/search/types.js';
import { testPool } from '../../support/database.js';
import { prng } from '../../support/prng.js';
import { requireServices } from '../../support/services.js';
import { Binds, SpTable, type SpRow } from '../../support/sp-table.js';

const SEED = Number(process.env.HEARTH_PROPERTY_SEED ?? 20240611);
const ROWS = 200;
const QUERIES_PER_PARAM = 150;

// ---------------------------------------------------------------------------------------
// Seeded randomness

class Random {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
  /** 0..max items from `make`. */
  some<T>(max: number, make: () => T): T[] {
    return Array.from({ length: this.int(max + 1) }, make);
  }
  /** A random run of whole code points (never splits a surrogate pair). */
  slice(text: string, fromStart: boolean): string {
    const chars = Array.from(text);
    const start = fromStart ? 0 : this.int(chars.length);
    const end = start + 1 + this.int(chars.length - start);
    return chars.slice(start, end).join('');
  }
  /** The same text as a user might type it: other case, accents dropped, or as is. */
  variant(text: string): string {
    switch (this.int(4)) {
      case 0:
        return text.toUpperCase();
      case 1:
        return text.toLowerCase();
      case 2:
        return text.normalize('NFD').replace(/\p{M}/gu, '');
      default:
        return text;
    }
  }
}

/** search.html#escaping: what a client must escape in a single value. */
const escape = (value: string): string => value.replace(/[\\,|$]/g, '\\$&');

// ---------------------------------------------------------------------------------------
// Value pools: hostile characters on purpose (quotes, backslashes, separators, regex syntax)

const SYSTEMS = ['http://loinc.org', 'http://snomed.info/sct', 'urn:oid:1.2.3', "http://x.org/it's", 'http://y.org/a|b,c$d\\e'];
const CODES = ['8867-4', 'abc', 'ABC', 'a|b', 'x,y', 'q"uote', "o'neil", 'back\\slash', '$dollar', 'true', 'false', '日本'];
const TEXTS = ['Heart rate', 'HEART RATE', 'Hérz', 'Café au lait', 'cafe', 'Ünïcödé', "O'Brien", 'a.b*c(d)', 'x"y\\z', '  spaced   out '];
const TYPE_CODES = ['MR', 'SS', 'DL'];
const CONTACT_SYSTEMS = ['phone', 'email', 'url'];
const RESOURCE_IDS = ['1', '2', 'abc', 'ABC', 'A-1.x', '0123456789'];
const REF_TYPES = ['Patient', 'Group', 'Device'];
const URIS = [
  'http://acme.org',
  'http://acme.org/',
  'http://acme.org/fhir',
  'http://acme.org/fhir/',
  'http://acme.org/fhir/ValueSet',
  'http://acme.org/fhir/ValueSet/1',
  'http://acme.org/fhir/ValueSet/1/',
  'http://acme.org/fhir/ValueSet/12',
  'http://acme.org/fhirx/ValueSet/1',
  'http://Acme.org/fhir/ValueSet/1',
  'http://acme.org/fhir/ValueSet/1?x=/y',
  'urn:oid:1.2.3',
  'urn:oid:1.2.3.4',
  `http://x.org/it's/a"b`,
  'http://x.org/a,b|c$d\\e/f',
];
const WORDS = [
  'Müller', 'MULLER', 'mueller', 'Zoë', 'zoe', 'Ångström', "O'Brien", 'o"brien', 'van der  Berg', 'José-María', 'İstanbul',
  'Straße', 'a.b*c(d)', 'x"y\\z', '[br]a{c}e', '^caret$', '100%_off', 'plus+minus?', 'pipe|bar,comma', 'tab\there',
  'dollar$sign', '日本語', '🙂smile', '.*', '\\d+', '\\', '#hash/slash', 'ça', "it's", '<tag>&amp;', '~`!@=:;',
];

// ---------------------------------------------------------------------------------------
// The parameters under test: how to make resource values and queries for each

interface Query {
  modifier?: string;
  raws: string[];
}

interface Case {
  def: SearchParamDef;
  module: ParamTypeModule;
  values(r: Random): unknown[];
  query(r: Random): Query;
}

function def(code: string, type: SearchParamType, targets: string[] = []): SearchParamDef {
  return { code, type, url: `http://example.org/sp/${code}`, resourceType: 'Basic', expression: '', targets, extract: () => [] };
}

const coding = (r: Random) => ({
  ...(r.chance(0.7) ? { system: r.pick(SYSTEMS) } : {}),
  ...(r.chance(0.9) ? { code: r.pick(CODES) } : {}),
  ...(r.chance(0.5) ? { display: r.pick(TEXTS) } : {}),
});

/** One of `code`, `system|code`, `|code`, `system|`, escaped. */
function tokenRaw(r: Random, codes: readonly string[], systems: readonly string[]): string {
  switch (r.int(4)) {
    case 0:
      return escape(r.pick(codes));
    case 1:
      return `${escape(r.pick(systems))}|${escape(r.pick(codes))}`;
    case 2:
      return `|${escape(r.pick(codes))}`;
    default:
      return `${escape(r.pick(systems))}|`;
  }
}

const missing = (r: Random): Query => ({ modifier: 'missing', raws: [r.chance(0.5) ? 'true' : 'false'] });
const several = (r: Random, make: () => string) => Array.from({ length: 1 + r.int(3) }, make);

function tokenQuery(r: Random, modifiers: string[], codes = CODES, systems = SYSTEMS): Query {
  const modifier = r.pick([undefined, undefined, 'missing', ...modifiers]);
  if (modifier === 'missing') return missing(r);
  if (modifier === 'text') return { modifier, raws: several(r, () => escape(r.variant(r.slice(r.pick(TEXTS).trim(), true)))) };
  if (modifier === 'of-type') {
    return {
      modifier,
      raws: several(r, () => `${r.chance(0.8) ? 'http://v2' : ''}|${r.pick(TYPE_CODES)}|${escape(r.pick(codes))}`),
    };
  }
  return { modifier, raws: several(r, () => tokenRaw(r, codes, systems)) };
}

const tokenCases: Case[] = [
  {
    def: def('code', 'token'),
    module: tokenParam as ParamTypeModule,
    values: (r) =>
      r.some(3, () => {
        const kind = r.int(4);
        if (kind === 0) return { coding: r.some(2, () => coding(r)), ...(r.chance(0.5) ? { text: r.pick(TEXTS) } : {}) };
        if (kind === 1) return coding(r);
        return kind === 2 ? r.chance(0.5) : r.pick(CODES);
      }),
    query: (r) => tokenQuery(r, ['not', 'text']),
  },
  {
    def: def('identifier', 'token'),
    module: tokenParam as ParamTypeModule,
    values: (r) =>
      r.some(2, () => ({
        ...(r.chance(0.7) ? { system: r.pick(SYSTEMS) } : {}),
        ...(r.chance(0.9) ? { value: r.pick(CODES) } : {}),
        ...(r.chance(0.5)
          ? { type: { coding: r.some(2, () => ({ ...(r.chance(0.8) ? { system: 'http://v2' } : {}), code: r.pick(TYPE_CODES) })), text: r.pick(TEXTS) } }
          : {}),
      })),
    query: (r) => tokenQuery(r, ['not', 'text', 'of-type']),
  },
  {
    def: def('telecom', 'token'),
    module: tokenParam as ParamTypeModule,
    values: (r) => r.some(2, () => ({ system: r.pick(CONTACT_SYSTEMS), value: r.pick(CODES), use: 'home' })),
    query: (r) => tokenQuery(r, ['not'], CODES, CONTACT_SYSTEMS),
  },
  {
    // A code that needs quoting in jsonpath and in a SQL literal.
    def: def(`we"ird'\\key`, 'token'),
    module: tokenParam as ParamTypeModule,
    values: (r) => r.some(2, () => coding(r)),
    query: (r) => tokenQuery(r, ['not', 'text']),
  },
];

function reference(r: Random): unknown {
  const type = r.pick(REF_TYPES);
  const id = r.pick(RESOURCE_IDS);
  switch (r.int(7)) {
    case 0:
      return { reference: `${type}/${id}/_history/${1 + r.int(2)}` };
    case 1:
      return { reference: `http://other.org/fhir/${type}/${id}` };
    case 2:
      return { reference: '#contained' };
    case 3:
      return { identifier: { ...(r.chance(0.7) ? { system: r.pick(SYSTEMS) } : {}), value: r.pick(CODES) } };
    case 4:
      return `http://acme.org/fhir/ValueSet/${id}${r.chance(0.5) ? '|1.0' : ''}`;
    default:
      return { reference: `${type}/${id}` };
  }
}

function referenceQuery(r: Random, targets: string[]): Query {
  const modifier = r.pick([undefined, undefined, undefined, 'missing', 'identifier', ...targets]);
  if (modifier === 'missing') return missing(r);
  if (modifier === 'identifier') return { modifier, raws: several(r, () => tokenRaw(r, CODES, SYSTEMS)) };
  if (modifier !== undefined) return { modifier, raws: several(r, () => (r.chance(0.8) ? r.pick(RESOURCE_IDS) : `${modifier}/${r.pick(RESOURCE_IDS)}`)) };
  const value = () => {
    const type = r.pick(targets);
    const id = r.pick(RESOURCE_IDS);
    const forms = [id, `${type}/${id}`, `${type}/${id}/_history/${1 + r.int(2)}`, `http://other.org/fhir/${type}/${id}`];
    forms.push(`http://acme.org/fhir/ValueSet/${id}${r.chance(0.5) ? '|1.0' : ''}`);
    return escape(r.pick(forms));
  };
  return { raws: several(r, value) };
}

const referenceCases: Case[] = [
  {
    def: def('subject', 'reference', ['Patient', 'Group']),
    module: referenceParam as ParamTypeModule,
    values: (r) => r.some(3, () => reference(r)),
    query: (r) => referenceQuery(r, ['Patient', 'Group']),
  },
  {
    def: def('target', 'reference'),
    module: referenceParam as ParamTypeModule,
    values: (r) => r.some(3, () => reference(r)),
    query: (r) => referenceQuery(r, REF_TYPES),
  },
];

function uriQueryValue(r: Random): string {
  const base = r.pick(URIS);
  const roll = r.int(4);
  if (roll === 0) return `${base}/${r.pick(['1', 'ValueSet', 'x y'])}`;
  if (roll === 1) return Array.from(base).slice(0, Math.max(1, base.length - 1 - r.int(4))).join('');
  return base;
}

const uriCases: Case[] = [
  {
    def: def('url', 'uri'),
    module: uriParam as ParamTypeModule,
    values: (r) => r.some(2, () => r.pick(URIS)),
    query: (r) => {
      const modifier = r.pick([undefined, 'below', 'above', 'missing']);
      return modifier === 'missing' ? missing(r) : { modifier, raws: several(r, () => escape(uriQueryValue(r))) };
    },
  },
];

const humanName = (r: Random) => ({
  ...(r.chance(0.8) ? { family: r.pick(WORDS) } : {}),
  ...(r.chance(0.7) ? { given: r.some(2, () => r.pick(WORDS)) } : {}),
  ...(r.chance(0.2) ? { prefix: [r.pick(WORDS)] } : {}),
  ...(r.chance(0.3) ? { text: `${r.pick(WORDS)} ${r.pick(WORDS)}` } : {}),
});

const address = (r: Random) => ({
  ...(r.chance(0.6) ? { line: r.some(2, () => `${r.int(100)} ${r.pick(WORDS)}`) } : {}),
  ...(r.chance(0.6) ? { city: r.pick(WORDS) } : {}),
  ...(r.chance(0.3) ? { postalCode: String(10000 + r.int(5)) } : {}),
  ...(r.chance(0.3) ? { country: r.pick(['FR', 'DE', 'fr']) } : {}),
});

function stringQuery(r: Random): Query {
  const modifier = r.pick([undefined, undefined, 'contains', 'exact', 'missing']);
  if (modifier === 'missing') return missing(r);
  const value = () => {
    const word = r.pick(WORDS);
    if (modifier === 'exact') return escape(r.chance(0.7) ? word : r.variant(word));
    return escape(r.variant(r.slice(word, modifier === undefined || r.chance(0.3))));
  };
  // A value that normalizes to nothing (whitespace) is a 400; draw again.
  const raws = several(r, value).filter((raw) => raw.trim() !== '');
  return raws.length > 0 ? { modifier, raws } : stringQuery(r);
}

const stringCases: Case[] = [
  { def: def('name', 'string'), module: stringParam as ParamTypeModule, values: (r) => r.some(2, () => humanName(r)), query: stringQuery },
  { def: def('address', 'string'), module: stringParam as ParamTypeModule, values: (r) => r.some(2, () => address(r)), query: stringQuery },
  { def: def('description', 'string'), module: stringParam as ParamTypeModule, values: (r) => r.some(3, () => r.pick(WORDS)), query: stringQuery },
];

// ---------------------------------------------------------------------------------------

const CASES: Case[] = [...tokenCases, ...referenceCases, ...uriCases, ...stringCases];

describe('search parameter modules: SQL predicate agrees with the in-memory matcher (integration)', function () {
  let table: SpTable | undefined;

  before(async function () {
    await requireServices(this);
    const random = new Random(prng(SEED));
    const rows: SpRow[] = [];
    for (let i = 0; i < ROWS; i++) {
      const index: SearchIndex = {};
      for (const c of CASES) c.module.index(c.def, c.values(random), index);
      rows.push({ id: `r${String(i).padStart(3, '0')}`, index });
    }
    // r-null has `sp` NULL (not reindexed yet), which the matcher sees as {}.
    rows.push({ id: 'r-empty', index: {} }, { id: 'r-null', index: {}, nullSp: true });
    table = await SpTable.create(await testPool(), 'sp_property', rows, { gin: true });
  });

  after(async () => {
    await table?.drop().catch(() => undefined);
  });

  for (const c of CASES) {
    it(`${c.def.type} '${c.def.code}': ${QUERIES_PER_PARAM} random queries, with and without the GIN index`, async () => {
      const random = new Random(prng(SEED ^ hash(c.def.code)));
      let selective = 0;
      for (let q = 0; q < QUERIES_PER_PARAM; q++) {
        const query = c.query(random);
        const values: ParsedValue[] =
          query.modifier === 'missing' ? query.raws.map((raw) => ({ raw })) : query.raws.map((raw) => c.module.parse(c.def, query.modifier, raw));
        const expected = table!.memory((index) => c.module.matches(c.def, query.modifier, values, index));
        const binds = new Binds();
        const sql = c.module.predicate(c.def, query.modifier, values, 'r.sp', binds);
        const label = `seed ${SEED}, ${c.def.code}${query.modifier ? `:${query.modifier}` : ''}=${query.raws.join(',')}\nSQL: ${sql}`;
        for (const seqscan of ['on', 'off']) {
          await table!.query(`SET enable_seqscan = ${seqscan}`);
          assert.deepEqual(await table!.select(sql, binds.values), expected, `${label} (enable_seqscan=${seqscan})`);
        }
        if (table!.splits(expected)) selective++;
      }
      await table!.query('RESET enable_seqscan');
      // Guard against a generator that only produces trivial (all or nothing) queries.
      assert.ok(selective >= QUERIES_PER_PARAM * 0.4, `only ${selective}/${QUERIES_PER_PARAM} queries were selective`);
    });
  }

  it('the GIN index serves a token containment query', async () => {
    const binds = new Binds();
    const sql = tokenParam.predicate(def('code', 'token'), undefined, [tokenParam.parse(def('code', 'token'), undefined, 'abc')], 'r.sp', binds);
    await table!.query('SET enable_seqscan = off');
    const plan = await table!.query(`EXPLAIN SELECT id FROM "${table!.name}" r WHERE ${sql}`, binds.values);
    await table!.query('RESET enable_seqscan');
    assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), new RegExp(`Bitmap Index Scan on ${table!.indexName}\\b`));
  });
});

function hash(text: string): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619);
  return h >>> 0;
}
