// Number search parameters (FHIR R4 search.html#number; prefixes search.html#prefix).
//
// A search value has an implicit precision from its significant figures: 100 means
// [99.5, 100.5), 100.00 means [99.995, 100.005), 0.5 means [0.45, 0.55), and 1e2 (one
// significant figure) means [50, 150) — R4's example says "95 to 105" there, which is
// what 1.0e2 gives; R5 corrected the example to [50 ... 150). That range serves eq, ne and
// ap; gt/lt/ge/le/sa/eb compare with the exact value ("the implicit precision of the number
// is ignored"). Resource values are exact: JSON numbers do not keep their lexeme, so an
// integer 100 and a decimal 100.0 index alike. A Range, or a Quantity with a comparator,
// indexes as the interval it states.
//
// Index entry, sp["<code>"]: [lo, hi], a closed interval (lo = hi for a plain value),
// null = open end.
import { badRequest } from '../../core/errors.js';
import type { JsonObject } from '../../core/types.js';
import type { ParsedValue, SearchParamDef } from '../types.js';
import { decimalCondition, rangeModule, rangeSortExpression, splitPrefix, type Prefix, type QueryRange, type RangeEntry } from './prefix.js';

export interface NumberQuery extends ParsedValue, QueryRange {
  prefix: Prefix;
  /** The exact value, for the prefixes that ignore precision. */
  value: number;
}

/** FHIR decimal (datatypes.html#decimal). */
const DECIMAL = /^(-)?(0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A decimal and its implicit-precision range [lo, hi); undefined when not a finite decimal. */
export function parseDecimal(text: string): { value: number; lo: number; hi: number } | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = m;
  // |value| = digits × 10^scale; half a unit of the last digit either side is
  // (10·digits ∓ 5) × 10^(scale-1), written exactly in decimal and rounded once to a double.
  const digits = BigInt(whole + fraction);
  const scale = Number(exponent) - fraction.length;
  const below = Number(`${digits * 10n - 5n}e${scale - 1}`);
  const above = Number(`${digits * 10n + 5n}e${scale - 1}`);
  const value = Number(text);
  const [lo, hi] = sign ? [-above, -below] : [below, above];
  return [value, lo, hi].every(Number.isFinite) ? { value, lo, hi } : undefined;
}

/** `[prefix]number`; ap widens the precision range by 10% of the value (search.html#prefix). */
export function parseNumberQuery(def: SearchParamDef, raw: string, text = raw): NumberQuery {
  const { prefix, rest } = splitPrefix(def, text);
  const decimal = parseDecimal(rest);
  if (!decimal) throw badRequest(`${def.code}: '${rest}' is not a valid decimal number`, [def.code]);
  const margin = Math.abs(decimal.value) / 10;
  return { raw, prefix, ...decimal, approxLo: decimal.lo - margin, approxHi: decimal.hi + margin };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A Quantity's value as an interval: its comparator (quantity.html) opens one side. */
export function quantityBounds(quantity: JsonObject): [number | null, number | null] | undefined {
  const v = quantity.value;
  if (!finite(v)) return undefined;
  switch (quantity.comparator) {
    case '<':
    case '<=':
      return [null, v];
    case '>':
    case '>=':
      return [v, null];
    default:
      return [v, v];
  }
}

/** A Range's low..high (both inclusive, datatypes.html#Range); a missing side is open. */
export function rangeBounds(range: JsonObject): [number | null, number | null] | undefined {
  const low = (range.low as JsonObject | undefined)?.value;
  const high = (range.high as JsonObject | undefined)?.value;
  if (!finite(low) && !finite(high)) return undefined;
  return [finite(low) ? low : null, finite(high) ? high : null];
}

export const isRange = (o: JsonObject) => 'low' in o || 'high' in o;

/** The index entries of one extracted value: a number, a Range or a Quantity-like value. */
export function numberEntries(value: unknown): RangeEntry[] {
  if (finite(value)) return [[value, value]];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const object = value as JsonObject;
  const bounds = isRange(object) ? rangeBounds(object) : quantityBounds(object);
  return bounds ? [bounds] : [];
}

export const numberParam = rangeModule<NumberQuery>({
  type: 'number',
  parse: (def, raw) => parseNumberQuery(def, raw),
  entries: numberEntries,
  condition: (q) => decimalCondition(q.prefix, q.value, q),
});

/** ORDER BY key: asc = the lowest value, desc = the highest; NULL when missing. */
export function sortExpression(def: SearchParamDef, sp: string, direction: 'asc' | 'desc'): string {
  return rangeSortExpression(def.code, sp, direction);
}
