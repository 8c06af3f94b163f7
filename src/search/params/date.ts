// Date search parameters (FHIR R4 search.html#date; prefixes search.html#prefix).
//
// Both sides are ranges. A date, dateTime or instant covers what its precision covers ("2020"
// = the whole year; src/core/date-range.ts). A Period runs from the start of its start to the
// end of its end; a missing bound is open (a missing end = ongoing). A Timing counts by its
// outer limits only (search.html#date: "the specified scheduling details are ignored"): the
// hull of its events and repeat.boundsPeriod.
//
// Index entry, sp["<code>"]: [lo, hi], epoch milliseconds, half-open [lo, hi), null = open end.
// Search values with a time but no zone are refused (400), as parseDateRange does: guessing
// the server's zone would make results depend on where the server runs.
import { parseDateRange } from '../../core/date-range.js';
import type { JsonObject } from '../../core/types.js';
import type { ParsedValue, SearchParamDef } from '../types.js';
import { periodCondition, rangeModule, rangeSortExpression, splitPrefix, type Prefix, type QueryRange, type RangeEntry } from './prefix.js';

export interface DateQuery extends ParsedValue, QueryRange {
  prefix: Prefix;
}

/**
 * `[prefix]date`. For ap, each end of the range is widened by 10% of its distance from `now`
 * (search.html#prefix: "for a date, 10% of the gap between now and the date").
 */
export function parseDateQuery(def: SearchParamDef, raw: string, now = Date.now()): DateQuery {
  const { prefix, rest } = splitPrefix(def, raw);
  const { start, end } = parseDateRange(rest, def.code);
  const lo = start.getTime();
  const hi = end.getTime();
  const approxLo = lo - Math.round(Math.abs(now - lo) / 10);
  const approxHi = hi + Math.round(Math.abs(now - hi) / 10);
  return { raw, prefix, lo, hi, approxLo, approxHi };
}

type Bounds = [number | null, number | null];

/** The range of one date/dateTime/instant string; undefined when it is not one. */
function instantBounds(value: unknown): [number, number] | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const { start, end } = parseDateRange(value, 'value');
    return [start.getTime(), end.getTime()];
  } catch {
    return undefined; // invalid stored values are not indexed rather than failing the write
  }
}

/** A Period's range; undefined when it has no bound or an unreadable one (never read as open). */
function periodBounds(period: JsonObject): Bounds | undefined {
  const start = instantBounds(period.start);
  const end = instantBounds(period.end);
  if ((period.start !== undefined && !start) || (period.end !== undefined && !end) || (!start && !end)) return undefined;
  return [start ? start[0] : null, end ? end[1] : null];
}

/** The smallest range holding every part (an open end anywhere stays open). */
function hull(parts: Bounds[]): Bounds {
  const los = parts.map((p) => p[0]);
  const his = parts.map((p) => p[1]);
  return [
    los.includes(null) ? null : Math.min(...(los as number[])),
    his.includes(null) ? null : Math.max(...(his as number[])),
  ];
}

function timingBounds(timing: JsonObject): Bounds | undefined {
  const events = Array.isArray(timing.event) ? timing.event : [];
  const parts: Bounds[] = events.map(instantBounds).filter((b): b is [number, number] => b !== undefined);
  const repeat = timing.repeat as JsonObject | undefined;
  const bounds = repeat && typeof repeat.boundsPeriod === 'object' ? periodBounds(repeat.boundsPeriod as JsonObject) : undefined;
  if (bounds) parts.push(bounds);
  return parts.length > 0 ? hull(parts) : undefined;
}

/** The index entries of one extracted value: date/dateTime/instant string, Period or Timing. */
export function dateEntries(value: unknown): RangeEntry[] {
  let bounds: Bounds | undefined;
  if (typeof value === 'string') bounds = instantBounds(value);
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as JsonObject;
    bounds = 'event' in object || 'repeat' in object ? timingBounds(object) : periodBounds(object);
  }
  return bounds ? [bounds] : [];
}

export const dateParam = rangeModule<DateQuery>({
  type: 'date',
  parse: (def, raw) => parseDateQuery(def, raw),
  entries: dateEntries,
  condition: (q) => periodCondition(q.prefix, q),
});

/** ORDER BY key: asc = earliest start, desc = latest end; NULL when missing. */
export function sortExpression(def: SearchParamDef, sp: string, direction: 'asc' | 'desc'): string {
  return rangeSortExpression(def.code, sp, direction);
}
