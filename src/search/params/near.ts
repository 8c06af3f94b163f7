// `near` on Location (FHIR R4 search.html#special, SearchParameter Location-near):
// `near=[latitude]|[longitude]|[distance]|[units]`, WGS84 degrees. Units are UCUM km (the
// default), m or [mi_i] (also plain `mi`); without a distance, "near" means within
// DEFAULT_DISTANCE_KM (the spec leaves it to the server). Comma-separated values are OR'ed;
// :missing works as for every type; no other modifier applies.
//
// Index entries, sp["near"]: [latitude, longitude] of Location.position.
// Match: the great-circle distance on a sphere of the mean Earth radius is at most the
// distance, tested with the haversine term a = sin²(Δφ/2) + cos φ1·cos φ2·sin²(Δλ/2) against
// sin²(δ/2) (δ = distance / radius), which is the same test without asin/sqrt. In SQL a
// bounding box on the stored numbers (a jsonpath filter) comes first, so the trigonometry
// runs only for the entries inside it. SQL and memory take the box from boundingBox(); the
// haversine term is written in both (test/integration/search/near-sql-vs-memory.test.ts holds
// them together). No index serves it: a scan of the tenant's Locations with numeric tests
// (~2 µs a row: 40 ms for 20,000 Locations, the haversine subquery running for the ~30 in the box).
import { FhirError } from '../../core/errors.js';
import type { ParamTypeModule, ParsedValue, SearchIndex, SearchParamDef, SqlBinds } from '../types.js';
import {
  addEntries, checkModifier, invalid, isObject, jsonPathString, missingMatch, missingSql, paramName, parseMissing, splitUnescaped, sqlLiteral,
} from './shared.js';

/** Mean Earth radius (IUGG), km. */
export const EARTH_RADIUS_KM = 6371.0088;
/** The distance when the search gives none (search.html#special leaves "near" to the server). */
export const DEFAULT_DISTANCE_KM = 5;
/** Kilometres per unit (UCUM codes; `mi` as commonly written). */
export const DISTANCE_UNITS: Readonly<Record<string, number>> = Object.freeze({ km: 1, m: 0.001, '[mi_i]': 1.609344, mi: 1.609344 });

export interface NearValue extends ParsedValue {
  latitude: number;
  longitude: number;
  /** The distance in km. */
  km: number;
}

/** FHIR decimal (datatypes.html#decimal). */
const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const RAD = Math.PI / 180;

function decimal(def: SearchParamDef, text: string, what: string): number {
  const value = DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value)) throw invalid(def, undefined, `${what} '${text.slice(0, 40)}' is not a decimal number`);
  return value;
}

/** `lat|long[|distance[|units]]`. */
export function parseNear(def: SearchParamDef, raw: string): NearValue {
  const parts = splitUnescaped(raw, '|');
  if (parts.length < 2 || parts.length > 4) throw invalid(def, undefined, `expected latitude|longitude|distance|units, got '${raw.slice(0, 80)}'`);
  const [latText, lonText, distanceText = '', unitText = ''] = parts;
  const latitude = decimal(def, latText, 'latitude');
  const longitude = decimal(def, lonText, 'longitude');
  if (latitude < -90 || latitude > 90) throw invalid(def, undefined, `latitude ${latText} is outside -90..90`);
  if (longitude < -180 || longitude > 180) throw invalid(def, undefined, `longitude ${lonText} is outside -180..180`);
  const unit = unitText === '' ? 'km' : unitText;
  if (!Object.hasOwn(DISTANCE_UNITS, unit)) throw invalid(def, undefined, `unknown distance unit '${unit.slice(0, 40)}' (use km, m, [mi_i] or mi)`);
  if (distanceText === '') return { raw, latitude, longitude, km: DEFAULT_DISTANCE_KM };
  const distance = decimal(def, distanceText, 'distance');
  if (distance < 0) throw invalid(def, undefined, `distance ${distanceText} is negative`);
  return { raw, latitude, longitude, km: distance * DISTANCE_UNITS[unit] };
}

/** [latitude, longitude] of a Location.position, when both are numbers in range. */
export function nearEntries(value: unknown): [number, number][] {
  if (!isObject(value)) return [];
  const { latitude, longitude } = value;
  if (typeof latitude !== 'number' || typeof longitude !== 'number' || !Number.isFinite(latitude) || !Number.isFinite(longitude)) return [];
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return [];
  return [[latitude, longitude]];
}

/** Inclusive bounds of the entries that can be within the distance; longitude may wrap (lonMin > lonMax). */
export interface Box {
  latMin: number;
  latMax: number;
  /** Absent: every longitude (the circle reaches a pole, or spans half the globe). */
  lon?: { min: number; max: number };
}

/** The angular distance δ (radians), capped at π: beyond it every point is near. */
const angle = (q: NearValue) => Math.min(q.km / EARTH_RADIUS_KM, Math.PI);

/** sin²(δ/2): the haversine term of the distance, the bound for `haversine()`. */
export const threshold = (q: NearValue): number => Math.sin(angle(q) / 2) ** 2;

/** sin²(Δφ/2) + cos φ1·cos φ2·sin²(Δλ/2), degrees in. The SQL in `predicate` spells the same formula. */
export function haversine(lat1: number, lon1: number, lat2: number, lon2: number): number {
  return Math.sin(((lat2 - lat1) * RAD) / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(((lon2 - lon1) * RAD) / 2) ** 2;
}

/**
 * The bounding box of the circle, widened by a small margin so floating-point rounding never
 * drops a point the haversine test accepts (the box only pre-filters).
 */
export function boundingBox(q: NearValue): Box {
  const delta = angle(q);
  const margin = 1e-9;
  const deg = delta / RAD;
  const latMin = q.latitude - deg - margin;
  const latMax = q.latitude + deg + margin;
  // A pole inside the circle: every longitude. Else the widest longitude offset, at the
  // latitude where the circle touches its meridians: asin(sin δ / cos φ).
  if (latMin <= -90 || latMax >= 90) return { latMin: Math.max(latMin, -90), latMax: Math.min(latMax, 90) };
  const ratio = Math.sin(delta) / Math.cos(q.latitude * RAD);
  if (ratio >= 1 || delta >= Math.PI / 2) return { latMin, latMax };
  const dLon = Math.asin(ratio) / RAD + margin;
  let min = q.longitude - dLon;
  let max = q.longitude + dLon;
  if (min < -180) min += 360; // crosses the antimeridian: min > max, the box wraps
  if (max > 180) max -= 360;
  return { latMin, latMax, lon: { min, max } };
}

function inBox(box: Box, latitude: number, longitude: number): boolean {
  if (latitude < box.latMin || latitude > box.latMax) return false;
  if (!box.lon) return true;
  const { min, max } = box.lon;
  return min <= max ? longitude >= min && longitude <= max : longitude >= min || longitude <= max;
}

/** The jsonpath filter of one box over an entry `@` = [lat, lon]; values go into `vars`. */
function boxPath(box: Box, vars: Record<string, number>): string {
  const v = (value: number) => {
    const name = `v${Object.keys(vars).length}`;
    vars[name] = value;
    return `$${name}`;
  };
  const terms = [`@[0] >= ${v(box.latMin)}`, `@[0] <= ${v(box.latMax)}`];
  if (box.lon) {
    const lo = `@[1] >= ${v(box.lon.min)}`;
    const hi = `@[1] <= ${v(box.lon.max)}`;
    terms.push(box.lon.min <= box.lon.max ? `${lo} && ${hi}` : `(${lo} || ${hi})`);
  }
  return `(${terms.join(' && ')})`;
}

/** The haversine term in SQL over the entry `e` (jsonb [lat, lon] of numbers) and bound degrees. */
function haversineSql(e: string, lat: string, lon: string): string {
  const elat = `(${e} ->> 0)::float8`;
  const elon = `(${e} ->> 1)::float8`;
  return `(power(sin(radians(${elat} - ${lat}) / 2), 2) + cos(radians(${lat})) * cos(radians(${elat})) * power(sin(radians(${elon} - ${lon}) / 2), 2))`;
}

/** Any of `values` within its distance of any entry under `code`. */
function nearSql(code: string, sp: string, values: NearValue[], binds: SqlBinds): string {
  if (values.length === 0) return 'false';
  const vars: Record<string, number> = {};
  const boxes = values.map((q) => boxPath(boundingBox(q), vars)).join(' || ');
  // Strict: lax would unwrap the [lat, lon] arrays. Only well-formed entries inside a box come out.
  const key = jsonPathString(code);
  const path = `strict $.${key}[*] ? (@.size() == 2 && @[0].type() == "number" && @[1].type() == "number" && (${boxes}))`;
  const tests = values.map((q) => {
    const [lat, lon] = [binds.add(q.latitude), binds.add(q.longitude)].map((b) => `${b}::float8`);
    return `${haversineSql('sp_near.e', lat, lon)} <= ${binds.add(threshold(q))}::float8`;
  });
  // The same path once more as a plain row filter first: cheaper than the subquery (measured
  // 54 -> 38 ms over 20,000 Locations), which then runs only for rows with an entry in a box.
  const args = `${sp}, ${sqlLiteral(path)}, ${binds.add(JSON.stringify(vars))}::jsonb, true`;
  return (
    `(COALESCE(jsonb_path_exists(${args}), false) AND EXISTS (SELECT 1 FROM jsonb_path_query(${args}) AS sp_near(e) ` +
    `WHERE ${tests.join(' OR ')}))`
  );
}

function nearMatches(code: string, values: NearValue[], index: SearchIndex): boolean {
  const entries = (index[code] ?? []) as unknown[];
  return entries.some((entry) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'number' || typeof entry[1] !== 'number') return false;
    const [latitude, longitude] = entry as [number, number];
    return values.some((q) => inBox(boundingBox(q), latitude, longitude) && haversine(q.latitude, q.longitude, latitude, longitude) <= threshold(q));
  });
}

/** Only `near` has these semantics; another `special` parameter (a custom one) is refused. */
function checkNear(def: SearchParamDef, modifier: string | undefined): void {
  if (def.code !== 'near') {
    const name = paramName(def, modifier);
    throw new FhirError(400, { code: 'not-supported', diagnostics: `Special search parameter '${def.code}' is not supported`, expression: [name] });
  }
  checkModifier(def, modifier, []);
}

export const nearParam: ParamTypeModule<NearValue | ParsedValue> = Object.freeze({
  type: 'special',
  modifiers: Object.freeze([]) as readonly string[],
  index(def, values, into) {
    if (def.code === 'near') addEntries(into, def.code, values.flatMap(nearEntries));
  },
  parse(def, modifier, raw) {
    checkNear(def, modifier);
    return modifier === 'missing' ? parseMissing(def, raw) : parseNear(def, raw);
  },
  predicate(def, modifier, values, sp, binds) {
    checkNear(def, modifier);
    if (modifier === 'missing') return missingSql(sp, [def.code], values);
    return nearSql(def.code, sp, values as NearValue[], binds);
  },
  matches(def, modifier, values, index) {
    checkNear(def, modifier);
    if (modifier === 'missing') return missingMatch(index, [def.code], values);
    return nearMatches(def.code, values as NearValue[], index);
  },
} satisfies ParamTypeModule<NearValue | ParsedValue>);
