// Quantity search parameters (FHIR R4 search.html#quantity; prefixes search.html#prefix).
//
// Forms: [prefix]number|system|code (system and code both match), [prefix]number||code
// (code matches the Quantity's code or its human unit), [prefix]number (any unit). `\|`,
// `\,`, `\$` and `\\` are escapes (search.html#escaping). The number has the same semantics
// as a number parameter (./number.ts). Money indexes with system urn:iso:std:iso:4217 and its
// currency as code; a Range with its low..high and the unit of low (else high).
//
// Index entry, sp["<code>"]: [lo, hi, system, code, unit] (closed interval, null = open end
// or absent unit part), and for a UCUM quantity whose code converts, its canonical form after
// them: [.., canonicalLo, canonicalHi, canonicalCode] (src/terminology/ucum.ts: the magnitude in
// UCUM base units and those units, `g.m-3`). A search in UCUM units matches a value in its own
// unit, or any value whose canonical code is the search's with the canonical bounds compared:
// `ge1|http://unitsofmeasure.org|g/L` finds 120 mg/dL. Entries indexed before the canonical
// parts existed match by their own unit until `hearth reindex` rewrites them.
import { badRequest } from '../../core/errors.js';
import type { JsonObject } from '../../core/types.js';
import { canonicalQuantity, UCUM_SYSTEM } from '../../terminology/ucum.js';
import type { SearchParamDef } from '../types.js';
import { parseNumberQuery, isRange, quantityBounds, rangeBounds, type NumberQuery } from './number.js';
import { all, any, decimalCondition, onBoundsAt, rangeModule, rangeSortExpression, textAt, type Cond, type RangeEntry } from './prefix.js';

export interface QuantityQuery extends NumberQuery {
  system?: string;
  /** Matches Quantity.code (with system), or code or unit (without). */
  code?: string;
}

export const ISO_4217 = 'urn:iso:std:iso:4217';

/** Splits on unescaped `|` and removes the escapes. */
export function splitPipes(raw: string): string[] {
  const parts = [''];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && i + 1 < raw.length) parts[parts.length - 1] += raw[++i];
    else if (c === '|') parts.push('');
    else parts[parts.length - 1] += c;
  }
  return parts;
}

export function parseQuantityQuery(def: SearchParamDef, raw: string): QuantityQuery {
  const parts = splitPipes(raw);
  if (parts.length !== 1 && parts.length !== 3) {
    throw badRequest(`${def.code}: '${raw}' must be [prefix]number, [prefix]number|system|code or [prefix]number||code`, [def.code]);
  }
  const [number, system, code] = parts;
  if (system && !code) throw badRequest(`${def.code}: '${raw}' names a system but no code`, [def.code]);
  return { ...parseNumberQuery(def, raw, number), system: system || undefined, code: code || undefined };
}

const text = (v: unknown) => (typeof v === 'string' ? v : null);

/** [system, code, unit] of a Quantity, Money or the low/high of a Range. */
function unitOf(object: JsonObject): [string | null, string | null, string | null] {
  if (isRange(object)) return unitOf(((object.low ?? object.high) as JsonObject | undefined) ?? {});
  if (typeof object.currency === 'string') return [ISO_4217, object.currency, null];
  return [text(object.system), text(object.code), text(object.unit)];
}

/** The index entries of one extracted value: Quantity (and profiles), Money, Range or a bare number. */
export function quantityEntries(value: unknown): RangeEntry[] {
  if (typeof value === 'number' && Number.isFinite(value)) return [[value, value, null, null, null]];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const object = value as JsonObject;
  const bounds = isRange(object) ? rangeBounds(object) : quantityBounds(object);
  if (!bounds) return [];
  const unit = unitOf(object);
  return [[...bounds, ...unit, ...canonicalParts(bounds, unit)]];
}

/** Where an entry's canonical [lo, hi] pair and code are. */
const CANONICAL_BOUNDS = 5;
const CANONICAL_CODE = 7;

/** [canonicalLo, canonicalHi, canonicalCode] of a UCUM entry, or nothing. */
function canonicalParts([lo, hi]: [number | null, number | null], [system, code]: [string | null, string | null, string | null]): RangeEntry {
  if (system !== UCUM_SYSTEM || !code || (lo === null && hi === null)) return [];
  const low = lo === null ? undefined : canonicalQuantity(lo, code);
  const high = hi === null ? undefined : canonicalQuantity(hi, code);
  const canonicalCode = (low ?? high)?.code;
  if (canonicalCode === undefined || (lo !== null && !low) || (hi !== null && !high)) return [];
  return [low?.value ?? null, high?.value ?? null, canonicalCode];
}

function quantityCondition(q: QuantityQuery): Cond {
  const number = decimalCondition(q.prefix, q.value, q);
  if (q.code === undefined) return number;
  const unit = q.system !== undefined ? all(textAt(2, q.system), textAt(3, q.code)) : any(textAt(3, q.code), textAt(4, q.code));
  const asWritten = all(number, unit);
  const canonical = q.system === UCUM_SYSTEM ? canonicalCondition(q, q.code) : undefined;
  return canonical ? any(asWritten, canonical) : asWritten;
}

/**
 * The search value in canonical units, compared with the entries' canonical parts: every bound
 * of the query (the value, its precision range, the `ap` range) converted on its own, which also
 * holds for units with an offset (Cel, [degF]), whose conversion is increasing but not a factor.
 */
function canonicalCondition(q: QuantityQuery, code: string): Cond | undefined {
  const convert = (x: number) => canonicalQuantity(x, code);
  const value = convert(q.value);
  const [lo, hi, approxLo, approxHi] = [q.lo, q.hi, q.approxLo, q.approxHi].map(convert);
  if (!value || !lo || !hi || !approxLo || !approxHi) return undefined;
  const range = { lo: lo.value, hi: hi.value, approxLo: approxLo.value, approxHi: approxHi.value };
  return all(onBoundsAt(decimalCondition(q.prefix, value.value, range), CANONICAL_BOUNDS), textAt(CANONICAL_CODE, value.code));
}

export const quantityParam = rangeModule<QuantityQuery>({
  type: 'quantity',
  parse: parseQuantityQuery,
  entries: quantityEntries,
  condition: quantityCondition,
});

/** ORDER BY key: asc = the lowest value, desc = the highest, whatever the unit; NULL when missing. */
export function sortExpression(def: SearchParamDef, sp: string, direction: 'asc' | 'desc'): string {
  return rangeSortExpression(def.code, sp, direction);
}
