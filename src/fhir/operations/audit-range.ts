// The time range parameters of the audit trail operations ($export-ndjson, $verify,
// $access-report; issue 11):
// `_since` and `_until` as FHIR instants (R4 datatypes.html#instant: seconds and a time zone
// required), from the query string or, on POST, from an input Parameters resource
// (operations.html#executing). Bad input is a 400 naming the parameter.
import { badRequest } from '../../core/errors.js';
import type { FhirRequest } from '../../core/types.js';

// YYYY-MM-DDThh:mm:ss(.fraction)?(Z|±hh:mm), fields in range (datatypes.html#instant).
const INSTANT = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/;

/** The raw value of `name`: the query string's, else a POSTed Parameters' valueInstant/valueDateTime/valueString. */
function rawParameter(req: FhirRequest, name: string): string | undefined {
  const fromQuery = req.query.getAll(name);
  if (fromQuery.length > 1) throw badRequest(`${name} may be given once`, [name]);
  if (fromQuery.length === 1) return fromQuery[0];
  if (req.method !== 'POST' || req.body === undefined) return undefined;
  if (req.bodyKind === 'form') return (req.body as URLSearchParams).get(name) ?? undefined;
  const body = req.body as { resourceType?: unknown; parameter?: unknown };
  if (body.resourceType !== 'Parameters') throw badRequest('The operation takes a Parameters resource as its body', ['Parameters']);
  const matches = (Array.isArray(body.parameter) ? body.parameter : []).filter((p: { name?: unknown }) => p?.name === name) as Record<string, unknown>[];
  if (matches.length > 1) throw badRequest(`${name} may be given once`, [`Parameters.parameter.where(name='${name}')`]);
  if (matches.length === 0) return undefined;
  const value = matches[0].valueInstant ?? matches[0].valueDateTime ?? matches[0].valueString;
  if (typeof value !== 'string') throw badRequest(`${name} must be an instant (valueInstant)`, [`Parameters.parameter.where(name='${name}')`]);
  return value;
}

/** The date part names a day of the calendar (Date.parse rolls 2026-02-31 over into March). */
function realDay(raw: string): boolean {
  const [year, month, day] = raw.slice(0, 10).split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}

/** `name` as a Date, undefined when absent; a 400 naming it when not an instant. */
export function instantParameter(req: FhirRequest, name: string): Date | undefined {
  const raw = rawParameter(req, name);
  if (raw === undefined) return undefined;
  const time = INSTANT.test(raw) && realDay(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(time)) {
    throw badRequest(`${name} must be an instant with seconds and a time zone, e.g. 2026-11-01T00:00:00Z (got ${JSON.stringify(raw.slice(0, 40))})`, [name]);
  }
  return new Date(time);
}
