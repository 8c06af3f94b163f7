// Comparison prefixes of the ordered parameter types (FHIR R4 search.html#prefix) and the
// range semantics shared by date, number and quantity.
//
// Every resource value is indexed as a range entry [lo, hi, ...] (null = open end: lo null
// is -infinity, hi null is +infinity), every query value is turned into a Cond over ONE
// entry, and that Cond is either compiled to a jsonpath filter (SQL) or evaluated in memory.
// Both sides read the same entries and the same Cond, so they cannot drift apart.
//
// Multiple values: a resource matches when ANY of its entries matches ANY query value
// (search.html: a repeating element matches if any repeat matches; comma = OR). This holds
// for `ne` too: `ne` matches when some value is not `eq` (a resource whose values are 2020
// and 2021 matches ne2020), and never matches a resource without a value.
import type { ParamTypeModule, ParsedValue, SearchIndex, SearchParamDef, SearchParamType, SqlBinds } from '../types.js';
import { addEntries, checkModifier, invalid, jsonPathString, missingMatch, missingSql, parseMissing, sqlLiteral } from './shared.js';

export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type Prefix = (typeof PREFIXES)[number];

/** One index entry: [lo, hi, ...type-specific fields]. */
export type RangeEntry = (number | string | null)[];

/**
 * Splits `[prefix]value`; the default is eq. Two letters before a digit or `-` must be a known
 * prefix (`xx2020` is a 400); other text is left to the type to refuse (`today`, `five`).
 */
export function splitPrefix(def: SearchParamDef, raw: string): { prefix: Prefix; rest: string } {
  const letters = /^[a-z]{2}(?=[\d-])/.exec(raw)?.[0];
  if (letters === undefined) return { prefix: 'eq', rest: raw };
  if (!(PREFIXES as readonly string[]).includes(letters)) {
    throw invalid(def, undefined, `unknown prefix '${letters}' in '${raw}' (allowed: ${PREFIXES.join(', ')})`);
  }
  return { prefix: letters as Prefix, rest: raw.slice(2) };
}

// --- Conditions over one entry -------------------------------------------------------------

export type Cond =
  /** `at` names the end (0 = lo, 1 = hi); the entry position is `base + at` (base 0 unless moved). */
  | { cmp: '<' | '<=' | '>' | '>='; at: 0 | 1; value: number; base?: number }
  | { text: number; value: string }
  | { all: Cond[] }
  | { any: Cond[] }
  | { not: Cond };

export const lo = (cmp: '<' | '<=' | '>' | '>=', value: number): Cond => ({ cmp, at: 0, value });
export const hi = (cmp: '<' | '<=' | '>' | '>=', value: number): Cond => ({ cmp, at: 1, value });
export const textAt = (index: number, value: string): Cond => ({ text: index, value });
export const all = (...conds: Cond[]): Cond => ({ all: conds });
export const any = (...conds: Cond[]): Cond => ({ any: conds });
export const not = (cond: Cond): Cond => ({ not: cond });

/** `cond` with its bound comparisons reading the entry's [lo, hi] pair at `base`, `base + 1`. */
export function onBoundsAt(cond: Cond, base: number): Cond {
  if ('all' in cond) return all(...cond.all.map((c) => onBoundsAt(c, base)));
  if ('any' in cond) return any(...cond.any.map((c) => onBoundsAt(c, base)));
  if ('not' in cond) return not(onBoundsAt(cond.not, base));
  if ('text' in cond) return cond;
  return { ...cond, base };
}

const position = (c: { at: 0 | 1; base?: number }) => (c.base ?? 0) + c.at;

/** Bounds of a query value: its own range and the range `ap` accepts. */
export interface QueryRange {
  lo: number;
  hi: number;
  approxLo: number;
  approxHi: number;
}

/**
 * Dates: resource AND query values are half-open ranges [lo, hi) from their precision.
 * search.html#prefix, with "the range above/below the search value" = [q.hi, +inf) / (-inf, q.lo).
 */
export function periodCondition(prefix: Prefix, q: QueryRange): Cond {
  const eq = all(lo('>=', q.lo), hi('<=', q.hi)); // the search range fully contains the resource range
  switch (prefix) {
    case 'eq': return eq;
    case 'ne': return not(eq);
    case 'gt': return hi('>', q.hi); // part of the resource range lies after the search range
    case 'lt': return lo('<', q.lo);
    case 'ge': return any(hi('>', q.hi), eq);
    case 'le': return any(lo('<', q.lo), eq);
    case 'sa': return lo('>=', q.hi); // wholly after, no overlap
    case 'eb': return hi('<=', q.lo);
    case 'ap': return all(lo('<', q.approxHi), hi('>', q.approxLo)); // overlaps the widened range
  }
}

/**
 * Decimals: resource values are exact, so an entry is a closed range [lo, hi] (a point, or a
 * Range). eq/ne/ap use the query's implicit precision [q.lo, q.hi); gt/lt/ge/le/sa/eb compare
 * with the exact value (search.html#number: "the implicit precision of the number is ignored").
 */
export function decimalCondition(prefix: Prefix, value: number, q: QueryRange): Cond {
  const eq = all(lo('>=', q.lo), hi('<', q.hi));
  switch (prefix) {
    case 'eq': return eq;
    case 'ne': return not(eq);
    case 'gt': return hi('>', value);
    case 'lt': return lo('<', value);
    case 'ge': return hi('>=', value);
    case 'le': return lo('<=', value);
    case 'sa': return lo('>', value);
    case 'eb': return hi('<', value);
    case 'ap': return all(lo('<', q.approxHi), hi('>=', q.approxLo));
  }
}

/** An open end is -infinity (lo) or +infinity (hi): which comparisons it satisfies. */
const openEndSatisfies = (c: { cmp: string; at: 0 | 1 }) => (c.at === 0 ? c.cmp.startsWith('<') : c.cmp.startsWith('>'));

export function evaluate(cond: Cond, entry: RangeEntry): boolean {
  if ('all' in cond) return cond.all.every((c) => evaluate(c, entry));
  if ('any' in cond) return cond.any.some((c) => evaluate(c, entry));
  if ('not' in cond) return !evaluate(cond.not, entry);
  if ('text' in cond) return entry[cond.text] === cond.value;
  const x = entry[position(cond)];
  // Past the entry's end (an entry indexed before its canonical form existed): unknown, as
  // jsonpath's out-of-bounds subscript in a filter.
  if (x === undefined) return false;
  if (x === null) return openEndSatisfies(cond);
  if (typeof x !== 'number') return false;
  switch (cond.cmp) {
    case '<': return x < cond.value;
    case '<=': return x <= cond.value;
    case '>': return x > cond.value;
    case '>=': return x >= cond.value;
  }
}

/** The jsonpath filter for `cond` over `@` (one entry); values go into `vars`, never the text. */
export function toJsonPath(cond: Cond, vars: Record<string, number | string>): string {
  if ('all' in cond) return `(${cond.all.map((c) => toJsonPath(c, vars)).join(' && ')})`;
  if ('any' in cond) return `(${cond.any.map((c) => toJsonPath(c, vars)).join(' || ')})`;
  if ('not' in cond) return `!(${toJsonPath(cond.not, vars)})`;
  const name = `v${Object.keys(vars).length}`;
  vars[name] = cond.value;
  if ('text' in cond) return `@[${cond.text}] == $${name}`;
  // jsonpath compares null with a number as false, so open ends are spelled out.
  const x = `@[${position(cond)}]`;
  return openEndSatisfies(cond) ? `(${x} == null || ${x} ${cond.cmp} $${name})` : `(${x} != null && ${x} ${cond.cmp} $${name})`;
}

// --- SQL and memory (keys only from def.code, via shared.ts quoting) ------------------------

/** True when any entry under `code` satisfies any of `conds`. Strict mode: lax would unwrap the entry arrays. */
export function rangePredicate(code: string, sp: string, conds: Cond[], binds: SqlBinds): string {
  if (conds.length === 0) return 'false';
  const vars: Record<string, number | string> = {};
  const filter = conds.map((c) => toJsonPath(c, vars)).join(' || ');
  const key = jsonPathString(code);
  const path = `strict $ ? (exists(@.${key})).${key}[*] ? (${filter})`;
  return `COALESCE(jsonb_path_exists(${sp}, ${sqlLiteral(path)}, ${binds.add(JSON.stringify(vars))}::jsonb), false)`;
}

export function rangeMatches(code: string, conds: Cond[], index: SearchIndex): boolean {
  const entries = (index[code] ?? []) as RangeEntry[];
  return entries.some((entry) => conds.some((c) => evaluate(c, entry)));
}

/**
 * ORDER BY key over `sp`: asc = the lowest lo of the entries, desc = the highest hi (open ends
 * as -/+Infinity); NULL when the parameter has no entry. No user input in the text.
 */
export function rangeSortExpression(code: string, sp: string, direction: 'asc' | 'desc'): string {
  const key = sqlLiteral(code);
  const [fn, at, open] = direction === 'asc' ? ['min', 0, `'-Infinity'::numeric`] : ['max', 1, `'Infinity'::numeric`];
  const list = `CASE WHEN jsonb_typeof(${sp} -> ${key}) = 'array' THEN ${sp} -> ${key} END`;
  return `(SELECT ${fn}(COALESCE((sp_entry.e ->> ${at})::numeric, ${open})) FROM jsonb_array_elements(${list}) AS sp_entry(e))`;
}

// --- Module factory ------------------------------------------------------------------------

export interface RangeModuleSpec<V extends ParsedValue> {
  type: SearchParamType;
  parse(def: SearchParamDef, raw: string): V;
  /** Index entries of one extracted value (none when it carries no usable value). */
  entries(value: unknown): RangeEntry[];
  condition(value: V): Cond;
}

/**
 * A ParamTypeModule from the type's parse/entries/condition. Modifiers: only :missing, which
 * the query parser validates; parse() accepts it too for direct callers.
 */
export function rangeModule<V extends ParsedValue>(spec: RangeModuleSpec<V>): ParamTypeModule<V | ParsedValue> {
  // Without :missing every value came from spec.parse (a :missing value has only `raw`).
  const conditions = (values: ParsedValue[]) => (values as V[]).map((v) => spec.condition(v));
  return Object.freeze({
    type: spec.type,
    modifiers: Object.freeze([]) as readonly string[],
    index(def, values, into) {
      addEntries(into, def.code, values.flatMap((v) => spec.entries(v)));
    },
    parse(def, modifier, raw) {
      checkModifier(def, modifier, []);
      return modifier === 'missing' ? parseMissing(def, raw) : spec.parse(def, raw);
    },
    predicate(def, modifier, values, sp, binds) {
      checkModifier(def, modifier, []);
      if (modifier === 'missing') return missingSql(sp, [def.code], values);
      return rangePredicate(def.code, sp, conditions(values), binds);
    },
    matches(def, modifier, values, index) {
      checkModifier(def, modifier, []);
      if (modifier === 'missing') return missingMatch(index, [def.code], values);
      return rangeMatches(def.code, conditions(values), index);
    },
    // asc: the lowest lo of the entries, desc: the highest hi, whatever the unit.
    sort: { kind: 'numeric', expression: (def, sp, direction) => rangeSortExpression(def.code, sp, direction) },
  } satisfies ParamTypeModule<V | ParsedValue>);
}
