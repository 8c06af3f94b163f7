// The benchmarks' own workload: deterministic synthetic FHIR R4 transaction bundles, the same
// seed giving the same bundles on every machine. Each bundle is one patient's record:
// 1 Patient, 5 Encounters, 8 vital-sign Observations per Encounter (40; LOINC codes, UCUM
// valueQuantity, effectiveDateTime) and 1 MedicationRequest per Encounter (5), 51 resources,
// every entry a `POST` with a `urn:uuid:` fullUrl and references between entries by urn:uuid
// (FHIR R4 http.html#trules). The distributions follow the shape of the cross-server workload the
// benchmark figures compare against: 50 family names drawn uniformly (so `name=Smith` matches
// about 2% of patients), heart rate uniform in 50–140 /min (so `value-quantity=gt100` matches
// about 44%), encounters spread over 2015–2024.
//
//   tsx bench/workload.ts <count> [seed]   writes <count> bundles as NDJSON to stdout (seed 42)
//
// BENCH_CROSSCHECK_GENERATOR=<path to another generator script taking `<count> <seed>` and
// writing NDJSON> makes workloadFile() use that generator instead, to compare figures with a
// run that used it; it is never needed.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, renameSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng, type Rng } from '../test/support/prng.js';

type Json = Record<string, unknown>;

export interface WorkloadEntry {
  fullUrl: string;
  resource: Json;
  request: { method: 'POST'; url: string };
}

export interface WorkloadBundle {
  resourceType: 'Bundle';
  type: 'transaction';
  entry: WorkloadEntry[];
}

/** The standard seed: figures taken with it are comparable between runs. */
export const WORKLOAD_SEED = 42;

const FAMILY_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts',
];
const GIVEN_NAMES = {
  male: ['Liam', 'Noah', 'Oliver', 'Elijah', 'James', 'William', 'Benjamin', 'Lucas', 'Henry', 'Theodore', 'Jack', 'Levi', 'Samuel', 'Owen', 'Daniel'],
  female: ['Olivia', 'Emma', 'Charlotte', 'Amelia', 'Sophia', 'Mia', 'Isabella', 'Ava', 'Evelyn', 'Luna', 'Harper', 'Camila', 'Sofia', 'Eleanor', 'Grace'],
} as const;
const PLACES = [
  { city: 'Worcester', state: 'MA', postalCode: '01608' },
  { city: 'Madison', state: 'WI', postalCode: '53703' },
  { city: 'Tucson', state: 'AZ', postalCode: '85701' },
  { city: 'Raleigh', state: 'NC', postalCode: '27601' },
  { city: 'Boise', state: 'ID', postalCode: '83702' },
  { city: 'Omaha', state: 'NE', postalCode: '68102' },
];

interface Vital { loinc: string; display: string; ucum: string; unit: string; low: number; high: number; decimals: number }
// LOINC vital signs (FHIR R4 observation-vitalsigns) with plausible uniform ranges.
const VITALS: readonly Vital[] = [
  { loinc: '8867-4', display: 'Heart rate', ucum: '/min', unit: '/min', low: 50, high: 140, decimals: 0 },
  { loinc: '8480-6', display: 'Systolic blood pressure', ucum: 'mm[Hg]', unit: 'mmHg', low: 95, high: 175, decimals: 0 },
  { loinc: '8462-4', display: 'Diastolic blood pressure', ucum: 'mm[Hg]', unit: 'mmHg', low: 55, high: 110, decimals: 0 },
  { loinc: '8310-5', display: 'Body temperature', ucum: 'Cel', unit: 'C', low: 36, high: 39.5, decimals: 1 },
  { loinc: '9279-1', display: 'Respiratory rate', ucum: '/min', unit: '/min', low: 10, high: 28, decimals: 0 },
  { loinc: '29463-7', display: 'Body weight', ucum: 'kg', unit: 'kg', low: 45, high: 130, decimals: 1 },
  { loinc: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry', ucum: '%', unit: '%', low: 86, high: 100, decimals: 0 },
  { loinc: '39156-5', display: 'Body mass index (BMI) [Ratio]', ucum: 'kg/m2', unit: 'kg/m2', low: 17, high: 42, decimals: 1 },
];
// RxNorm clinical drugs.
const MEDICATIONS = [
  { code: '314076', display: 'lisinopril 10 MG Oral Tablet' },
  { code: '197361', display: 'amlodipine 5 MG Oral Tablet' },
  { code: '860975', display: 'metformin hydrochloride 500 MG Oral Tablet' },
  { code: '617312', display: 'atorvastatin 10 MG Oral Tablet' },
  { code: '313782', display: 'acetaminophen 325 MG Oral Tablet' },
  { code: '198211', display: 'simvastatin 40 MG Oral Tablet' },
  { code: '310965', display: 'ibuprofen 200 MG Oral Tablet' },
  { code: '966222', display: 'levothyroxine sodium 0.075 MG Oral Tablet' },
];
// SNOMED CT encounter types.
const ENCOUNTER_TYPES = [
  { code: '185349003', display: 'Encounter for check up (procedure)' },
  { code: '185345009', display: 'Encounter for symptom' },
  { code: '390906007', display: 'Follow-up encounter' },
  { code: '50849002', display: 'Emergency room admission' },
];

const MINUTE = 60_000;
const ENCOUNTERS_FROM = Date.UTC(2015, 0, 1);
const ENCOUNTERS_UNTIL = Date.UTC(2025, 0, 1);
const BIRTHS_FROM = Date.UTC(1930, 0, 1);
const BIRTHS_SPAN = 80 * 365.25 * 24 * 60 * MINUTE;

/** Draws from one seeded stream; every choice of the generator goes through it, in order. */
class Draw {
  constructor(private readonly rng: Rng) {}
  below(n: number): number {
    return Math.floor(this.rng() * n);
  }
  oneOf<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
  uniform(low: number, high: number): number {
    return low + this.rng() * (high - low);
  }
  hex(digits: number): string {
    let out = '';
    for (let i = 0; i < digits; i++) out += this.below(16).toString(16);
    return out;
  }
  /** A version 4 UUID (RFC 4122 §4.4) as a urn:uuid. */
  urn(): string {
    const variant = (8 + this.below(4)).toString(16);
    return `urn:uuid:${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${variant}${this.hex(3)}-${this.hex(12)}`;
  }
}

const instant = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const post = (fullUrl: string, resource: Json): WorkloadEntry => ({
  fullUrl,
  resource,
  request: { method: 'POST', url: resource.resourceType as string },
});

function patientEntry(draw: Draw): WorkloadEntry {
  const gender = draw.below(2) === 0 ? 'male' : 'female';
  const given = GIVEN_NAMES[gender];
  const place = draw.oneOf(PLACES);
  return post(draw.urn(), {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:bench:mrn', value: `MRN-${draw.hex(10)}` }],
    active: true,
    name: [{ use: 'official', family: draw.oneOf(FAMILY_NAMES), given: [draw.oneOf(given), draw.oneOf(given)] }],
    telecom: [{ system: 'phone', use: 'home', value: `555-${1_000_000 + draw.below(9_000_000)}` }],
    gender,
    birthDate: new Date(BIRTHS_FROM + draw.below(BIRTHS_SPAN)).toISOString().slice(0, 10),
    address: [{ line: [`${1 + draw.below(9999)} Main St`], ...place, country: 'US' }],
  });
}

/** One encounter with its 8 vital signs and 1 prescription: 10 entries. */
function visitEntries(draw: Draw, patient: string): WorkloadEntry[] {
  const encounter = draw.urn();
  const start = ENCOUNTERS_FROM + draw.below(ENCOUNTERS_UNTIL - ENCOUNTERS_FROM);
  const type = draw.oneOf(ENCOUNTER_TYPES);
  const entries = [post(encounter, {
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
    type: [{ coding: [{ system: 'http://snomed.info/sct', ...type }], text: type.display }],
    subject: { reference: patient },
    period: { start: instant(start), end: instant(start + 30 * MINUTE) },
  })];
  for (const vital of VITALS) {
    entries.push(post(draw.urn(), {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: vital.loinc, display: vital.display }], text: vital.display },
      subject: { reference: patient },
      encounter: { reference: encounter },
      effectiveDateTime: instant(start + 5 * MINUTE),
      issued: new Date(start + 10 * MINUTE).toISOString(),
      valueQuantity: {
        value: Number(draw.uniform(vital.low, vital.high).toFixed(vital.decimals)),
        unit: vital.unit,
        system: 'http://unitsofmeasure.org',
        code: vital.ucum,
      },
    }));
  }
  const medication = draw.oneOf(MEDICATIONS);
  entries.push(post(draw.urn(), {
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', ...medication }], text: medication.display },
    subject: { reference: patient },
    encounter: { reference: encounter },
    authoredOn: instant(start + 20 * MINUTE),
    dosageInstruction: [{ text: 'One tablet by mouth once a day', timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } } }],
  }));
  return entries;
}

/** `count` transaction bundles of 51 resources each, the same for the same seed. */
export function* workloadBundles(count: number, seed: number = WORKLOAD_SEED): Generator<WorkloadBundle> {
  const draw = new Draw(prng(seed));
  for (let b = 0; b < count; b++) {
    const patient = patientEntry(draw);
    const entry = [patient];
    for (let e = 0; e < 5; e++) entry.push(...visitEntries(draw, patient.fullUrl));
    yield { resourceType: 'Bundle', type: 'transaction', entry };
  }
}

/**
 * The workload as an NDJSON file in the temporary directory (one bundle per line), written once
 * and reused; from BENCH_CROSSCHECK_GENERATOR's script instead when that is set.
 */
export async function workloadFile(count: number, seed: number = WORKLOAD_SEED): Promise<string> {
  const crossCheck = process.env.BENCH_CROSSCHECK_GENERATOR;
  const file = join(tmpdir(), `hearth-bench-workload-${crossCheck ? 'crosscheck-' : ''}${count}-${seed}.ndjson`);
  if (existsSync(file)) return file;
  const out = openSync(`${file}.part`, 'w');
  try {
    if (crossCheck) {
      // Written to a file, not piped: thousands of large lines overflow a pipe buffer.
      const child = spawn(process.execPath, [crossCheck, String(count), String(seed)], { stdio: ['ignore', out, 'inherit'] });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      if (code !== 0) throw new Error(`${crossCheck} exited with ${code}`);
    } else {
      for (const bundle of workloadBundles(count, seed)) writeSync(out, `${JSON.stringify(bundle)}\n`);
    }
  } finally {
    closeSync(out);
  }
  renameSync(`${file}.part`, file);
  return file;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const count = Number(process.argv[2] ?? 1);
  const seed = Number(process.argv[3] ?? WORKLOAD_SEED);
  for (const bundle of workloadBundles(count, seed)) process.stdout.write(`${JSON.stringify(bundle)}\n`);
}
