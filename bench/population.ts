// The realistic population beside the benchmark workload, shared by bench:search, bench:crud and
// bench:peer: Patients without clinical data (so most patients match no clinical search) and a
// rare code on a few patients (so one code is on every workload patient, another on few), posted
// as batch bundles; plus the small helpers the three scripts share (median, a count from the
// environment, an id from a `location`). Everything is deterministic in its index, so two
// servers loaded with it hold equal content.
import { benchPatient } from './patients.js';
import { inParallel } from './support.js';

type Json = Record<string, unknown>;

/** The rare code: a few Observations carry it, most patients none. */
export const RARE_CODE = 'http://loinc.org|99999-9';
/** The code every workload patient has (heart rate, bench/workload.ts). */
export const COMMON_CODE = 'http://loinc.org|8867-4';
/** Entries per batch bundle. */
export const BATCH_SIZE = 100;

export interface PopulationOptions {
  /** Headers for every request (e.g. a peer's Authorization). */
  headers?: Record<string, string>;
  /** Batch bundles in flight at once; 4 by default. */
  concurrency?: number;
  /**
   * Client-assigned ids `<idPrefix><i>` (entries `PUT Type/<id>`, idempotent), so a reused
   * database can be recognised; server-assigned ids (entries `POST Type`) when unset.
   */
  idPrefix?: string;
  /** The index of the first one (benchPatient's number); 0 by default. */
  first?: number;
}

/** The environment variable `name` as a count, `fallback` when unset. */
export function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: '${raw}' is not a count`);
  return n;
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The id in a `location` of `type` (`Patient/<id>/_history/1`, `Patient/<id>` or an absolute URL). */
export function idFromLocation(location: string, type: string): string {
  const match = new RegExp(`(?:^|/)${type}/([^/?#]+)`).exec(location);
  if (!match) throw new Error(`no ${type} id in location '${location}'`);
  return match[1];
}

/** The i-th patient without clinical data: benchPatient(i) with an identifier fixed by i. */
export function extraPatient(i: number, id?: string): Json {
  const patient = JSON.parse(benchPatient(i, id)) as Json & { identifier: { value: string }[] };
  // benchPatient's identifier ends in a random UUID; this one has the same length but is the
  // same on every server and run.
  patient.identifier[0].value = `p-${i}-00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  return patient;
}

/** The i-th Observation of the rare code, on `patient`. */
export function rareObservation(i: number, patient: string, id?: string): Json {
  const [system, code] = RARE_CODE.split('|');
  const day = new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
  return {
    resourceType: 'Observation',
    ...(id ? { id } : {}),
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory', display: 'Laboratory' }] }],
    code: { coding: [{ system, code, display: 'Rare benchmark finding' }], text: 'Rare benchmark finding' },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: `${day}T09:00:00Z`,
    valueQuantity: { value: 1 + (i % 10), unit: 'U/L', system: 'http://unitsofmeasure.org', code: 'U/L' },
  };
}

/**
 * Posts `resources` to `base` as one batch bundle (FHIR R4 http.html#transaction); the ids the
 * server reports, in order. Throws when the bundle or any entry fails: callers load equal content.
 */
export async function postBatch(base: string, resources: Json[], options: PopulationOptions = {}): Promise<string[]> {
  const entry = resources.map((resource) => {
    const type = resource.resourceType as string;
    return resource.id
      ? { resource, request: { method: 'PUT', url: `${type}/${resource.id as string}` } }
      : { resource, request: { method: 'POST', url: type } };
  });
  const res = await fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', ...options.headers },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST batch (${resources.length} entries): ${res.status} ${text.slice(0, 500)}`);
  const body = JSON.parse(text) as { entry?: { response?: { status?: string; location?: string } }[] };
  if (body.entry?.length !== resources.length) throw new Error(`batch response holds ${body.entry?.length ?? 0} entries for ${resources.length}`);
  return body.entry.map((e, k) => {
    const type = resources[k].resourceType as string;
    if (!e.response?.status?.startsWith('2')) throw new Error(`batch entry ${type}: ${JSON.stringify(e).slice(0, 500)}`);
    return resources[k].id ? (resources[k].id as string) : idFromLocation(e.response.location ?? '', type);
  });
}

/** Posts `resources` in batch bundles of BATCH_SIZE, `concurrency` at a time; their ids in order. */
async function postBatches(base: string, resources: Json[], options: PopulationOptions): Promise<string[]> {
  const ids: string[] = new Array(resources.length);
  const chunks = Array.from({ length: Math.ceil(resources.length / BATCH_SIZE) }, (_, c) => c * BATCH_SIZE);
  await inParallel(chunks, options.concurrency ?? 4, async (start) => {
    const got = await postBatch(base, resources.slice(start, start + BATCH_SIZE), options);
    got.forEach((id, k) => (ids[start + k] = id));
  });
  return ids;
}

/** `count` Patients without clinical data (extraPatient(first + k)); their ids in order. */
export async function addExtraPatients(base: string, count: number, options: PopulationOptions = {}): Promise<string[]> {
  const first = options.first ?? 0;
  const patients = Array.from({ length: count }, (_, k) => extraPatient(first + k, options.idPrefix ? `${options.idPrefix}${first + k}` : undefined));
  const started = Date.now();
  const ids = await postBatches(base, patients, options);
  if (count) process.stderr.write(`added ${count} patients without clinical data in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return ids;
}

/**
 * `count` Observations of RARE_CODE on as many distinct patients of `patients`, spread evenly
 * over the list (more than the list holds wrap around); the patients that got one, in order.
 */
export async function addRareObservations(base: string, patients: string[], count: number, options: PopulationOptions = {}): Promise<string[]> {
  if (!count) return [];
  if (!patients.length) throw new Error('rare-code Observations need patients');
  const subjects = Array.from({ length: count }, (_, i) =>
    count <= patients.length ? patients[Math.floor((i * patients.length) / count)] : patients[i % patients.length]);
  const observations = subjects.map((patient, i) => rareObservation(i, patient, options.idPrefix ? `${options.idPrefix}${i}` : undefined));
  await postBatches(base, observations, options);
  return subjects;
}
