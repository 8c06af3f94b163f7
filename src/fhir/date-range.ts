// FHIR date/dateTime/instant values as half-open time ranges [start, end), following the
// precision rules of FHIR R4 search.html#date: "2026-11" covers the whole month.
import { badRequest } from './errors.js';

export interface DateRange {
  start: Date;
  end: Date;
}

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** Parses a FHIR date/dateTime/instant into the range it denotes; throws 400 naming `param`. */
export function parseDateRange(value: string, param: string): DateRange {
  const m = DATE_TIME.exec(value.trim());
  if (!m) throw badRequest(`${param}: '${value}' is not a valid FHIR date or dateTime`, [param]);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (h !== undefined && zone === undefined) {
    // A time without a zone is ambiguous; FHIR requires the zone when a time is given.
    throw badRequest(`${param}: '${value}' has a time but no time zone`, [param]);
  }
  const offsetMs = zone && zone !== 'Z' ? offsetMillis(zone) : 0;
  const parts = [Number(y), mo ? Number(mo) - 1 : 0, d ? Number(d) : 1, h ? Number(h) : 0, mi ? Number(mi) : 0, s ? Number(s) : 0];
  const ms = frac ? Math.floor(Number(frac) * 1000) : 0;
  const start = Date.UTC(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], ms) - offsetMs;
  if (Number.isNaN(start) || (mo && (parts[1] > 11 || (d && new Date(Date.UTC(parts[0], parts[1], parts[2])).getUTCDate() !== parts[2])))) {
    throw badRequest(`${param}: '${value}' is not a real calendar date`, [param]);
  }
  const end = addPrecisionStep(new Date(start), { y, mo, d, mi, s, frac });
  return { start: new Date(start), end };
}

function offsetMillis(zone: string): number {
  const sign = zone.startsWith('-') ? -1 : 1;
  const [hh, mm] = zone.slice(1).split(':').map(Number);
  return sign * (hh * 60 + mm) * 60_000;
}

function addPrecisionStep(start: Date, p: { y?: string; mo?: string; d?: string; mi?: string; s?: string; frac?: string }): Date {
  const t = new Date(start.getTime());
  if (p.frac) return new Date(t.getTime() + 10 ** (3 - Math.min(3, p.frac.length - 1)));
  if (p.s) return new Date(t.getTime() + 1000);
  if (p.mi) return new Date(t.getTime() + 60_000);
  if (p.d) return new Date(t.getTime() + 86_400_000);
  if (p.mo) {
    t.setUTCMonth(t.getUTCMonth() + 1);
    return t;
  }
  t.setUTCFullYear(t.getUTCFullYear() + 1);
  return t;
}
