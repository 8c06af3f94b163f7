// FHIR date/dateTime/instant values as half-open time ranges [start, end), following the
// precision rules of FHIR R4 search.html#date ("2026-11" covers the whole month) and the
// value ranges of datatypes.html#dateTime (months 01-12, hours 00-23, zones -13:59..+14:00).
import { badRequest } from './errors.js';

export interface DateRange {
  start: Date;
  end: Date;
}

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

type Precision = 'year' | 'month' | 'day' | 'minute' | 'second' | 'fraction';

/** Parses a FHIR date/dateTime/instant into the range it denotes; throws 400 naming `param`. */
export function parseDateRange(value: string, param: string): DateRange {
  const m = DATE_TIME.exec(value.trim());
  const invalid = (why: string) => badRequest(`${param}: '${value}' ${why}`, [param]);
  if (!m) throw invalid('is not a valid FHIR date or dateTime');
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (h !== undefined && zone === undefined) throw invalid('has a time but no time zone');
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  const [hour, minute, second] = [h, mi, s].map((v) => (v === undefined ? 0 : Number(v)));
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw invalid('is not a real calendar date');
  }
  if (hour > 23 || minute > 59 || second > 59) throw invalid('has a time out of range');
  const offset = zone && zone !== 'Z' ? offsetMinutes(zone) : 0;
  if (offset === undefined) throw invalid('has a time-zone offset out of range (-13:59 to +14:00)');
  const start = new Date(0);
  start.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 1-99 as written
  start.setUTCHours(hour, minute - offset, second, frac ? Math.floor(Number(frac) * 1000) : 0);
  const precision: Precision = frac ? 'fraction' : s ? 'second' : mi ? 'minute' : d ? 'day' : mo ? 'month' : 'year';
  // A fraction with n digits (n <= 3) spans 10^(3-n) ms; a Date holds no finer than 1 ms.
  const fractionMs = frac ? 10 ** (3 - Math.min(3, frac.length - 1)) : 0;
  return { start, end: addOne(start, precision, fractionMs) };
}

function daysInMonth(year: number, month: number): number {
  const probe = new Date(0);
  probe.setUTCFullYear(year, month, 0);
  return probe.getUTCDate();
}

function offsetMinutes(zone: string): number | undefined {
  const sign = zone.startsWith('-') ? -1 : 1;
  const [hh, mm] = zone.slice(1).split(':').map(Number);
  if (mm > 59 || hh > 14 || (hh === 14 && mm > 0)) return undefined;
  return sign * (hh * 60 + mm);
}

function addOne(start: Date, precision: Precision, fractionMs: number): Date {
  const t = new Date(start.getTime());
  switch (precision) {
    case 'fraction':
      return new Date(t.getTime() + fractionMs);
    case 'second':
      return new Date(t.getTime() + 1000);
    case 'minute':
      return new Date(t.getTime() + 60_000);
    case 'day':
      return new Date(t.getTime() + 86_400_000);
    case 'month':
      t.setUTCMonth(t.getUTCMonth() + 1);
      return t;
    case 'year':
      t.setUTCFullYear(t.getUTCFullYear() + 1);
      return t;
  }
}
