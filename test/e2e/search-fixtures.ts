// Deterministic dataset and helpers for test/e2e/search.test.ts (FHIR R4 search.html).
// Every resource is written with PUT (update-as-create) under a fixed id, so the expected
// results of each search can be written down as id sets. The comments next to each resource
// give the values the searches in search.test.ts rely on.
import assert from 'node:assert/strict';
import type { Bundle, BundleEntry, FhirResource as R4Resource } from 'fhir/r4.js';
import type { Client, FhirResource } from 'fhir-kit-client';

export const MRN = 'http://hospital.example.org/mrn';
export const OTHER_ID = 'http://other.example.org/ids';
export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const UCUM = 'http://unitsofmeasure.org';
export const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const TAGS = 'http://example.org/fhir/tags';
export const TEST_PROFILE = 'http://example.org/fhir/StructureDefinition/test-patient';

const vital = { coding: [{ system: OBS_CATEGORY, code: 'vital-signs', display: 'Vital Signs' }] };
const lab = { coding: [{ system: OBS_CATEGORY, code: 'laboratory', display: 'Laboratory' }] };
const heartRate = { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' };

export const ORGANIZATIONS = [
  { resourceType: 'Organization', id: 'org-acme', name: 'Acme Health' },
  { resourceType: 'Organization', id: 'org-beta', name: 'Beta Clinic' },
] as const;

export const PATIENTS = [
  {
    // birthdate day precision; the only one with a tag and a profile
    resourceType: 'Patient',
    id: 'pat-smith',
    meta: { tag: [{ system: TAGS, code: 'vip' }], profile: [TEST_PROFILE] },
    identifier: [{ system: MRN, value: 'A100' }],
    active: true,
    name: [{ family: 'Smith', given: ['John'] }],
    gender: 'male',
    birthDate: '1970-03-15',
    managingOrganization: { reference: 'Organization/org-acme' },
  },
  {
    // accented family, identifier without a system, month precision
    resourceType: 'Patient',
    id: 'pat-smith-accent',
    identifier: [{ value: 'A100' }],
    active: false,
    name: [{ family: 'Smíth', given: ['Anna'] }],
    gender: 'female',
    birthDate: '1970-03',
    managingOrganization: { reference: 'Organization/org-beta' },
  },
  {
    // upper case, year precision, no `active`
    resourceType: 'Patient',
    id: 'pat-smithers',
    identifier: [{ system: OTHER_ID, value: 'B200' }],
    name: [{ family: 'SMITHERS', given: ['Bob'] }],
    gender: 'male',
    birthDate: '1970',
  },
  {
    resourceType: 'Patient',
    id: 'pat-jones',
    meta: { tag: [{ system: TAGS, code: 'regular' }] },
    identifier: [{ system: MRN, value: 'C300' }],
    active: true,
    name: [{ family: 'Jones', given: ['Mary', 'Jo'] }],
    gender: 'female',
    birthDate: '1985-12-31',
    managingOrganization: { reference: 'Organization/org-acme' },
  },
  {
    // "smith" inside, not at the start; accented given name; no `active`
    resourceType: 'Patient',
    id: 'pat-goldsmith',
    name: [{ family: 'Goldsmith', given: ['Éloïse'] }],
    gender: 'other',
    birthDate: '2001-07-04',
  },
  {
    // no gender, no birthDate
    resourceType: 'Patient',
    id: 'pat-nguyen',
    active: true,
    name: [{ family: 'Nguyen', given: ['Van'] }],
  },
] as const;

export const ENCOUNTERS = [
  {
    resourceType: 'Encounter',
    id: 'enc-1',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/pat-smith' },
    period: { start: '2023-01-15T09:00:00Z', end: '2023-01-15T11:00:00Z' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc-2',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/pat-jones' },
    period: { start: '2023-02-20T08:00:00Z', end: '2023-02-20T09:00:00Z' },
  },
] as const;

export const OBSERVATIONS = [
  {
    // date [2023-01-15T10:00:00Z, +1s); 72 /min (UCUM)
    resourceType: 'Observation',
    id: 'obs-hr1',
    status: 'final',
    category: [vital],
    code: heartRate,
    subject: { reference: 'Patient/pat-smith' },
    encounter: { reference: 'Encounter/enc-1' },
    effectiveDateTime: '2023-01-15T10:00:00Z',
    valueQuantity: { value: 72, unit: '/min', system: UCUM, code: '/min' },
  },
  {
    // date [2023-02-20T08:30:00Z, +1s); 110, human unit 'beats/minute', UCUM code /min
    resourceType: 'Observation',
    id: 'obs-hr2',
    status: 'final',
    category: [vital],
    code: heartRate,
    subject: { reference: 'Patient/pat-jones' },
    encounter: { reference: 'Encounter/enc-2' },
    effectiveDateTime: '2023-02-20T08:30:00Z',
    valueQuantity: { value: 110, unit: 'beats/minute', system: UCUM, code: '/min' },
  },
  {
    // Period [2023-03-01T00:00:00Z, 2023-04-01T00:00:00Z); 100 with a unit only (no system/code)
    resourceType: 'Observation',
    id: 'obs-hr3',
    status: 'final',
    category: [vital],
    code: heartRate,
    subject: { reference: 'Patient/pat-smith-accent' },
    effectivePeriod: { start: '2023-03-01T00:00:00Z', end: '2023-03-31T23:59:59Z' },
    valueQuantity: { value: 100, unit: '/min' },
  },
  {
    // date = the whole day 2023-01-15 (UTC); 100 kg
    resourceType: 'Observation',
    id: 'obs-bw',
    status: 'final',
    category: [vital],
    code: { coding: [{ system: LOINC, code: '29463-7', display: 'Body weight' }] },
    subject: { reference: 'Patient/pat-smith' },
    encounter: { reference: 'Encounter/enc-1' },
    effectiveDateTime: '2023-01-15',
    valueQuantity: { value: 100, unit: 'kg', system: UCUM, code: 'kg' },
  },
  {
    // ongoing Period from 2022-12-31T22:00:00Z (no end); 5.4 mmol/L; laboratory
    resourceType: 'Observation',
    id: 'obs-glu',
    status: 'final',
    category: [lab],
    code: { coding: [{ system: LOINC, code: '2339-0', display: 'Glucose [Mass/volume] in Blood' }] },
    subject: { reference: 'Patient/pat-jones' },
    effectivePeriod: { start: '2022-12-31T22:00:00Z' },
    valueQuantity: { value: 5.4, unit: 'mmol/L', system: UCUM, code: 'mmol/L' },
  },
  {
    // two codings (LOINC + SNOMED), text only on the concept; no value
    resourceType: 'Observation',
    id: 'obs-bp',
    status: 'final',
    category: [vital],
    code: { coding: [{ system: LOINC, code: '85354-9' }, { system: SNOMED, code: '75367002' }], text: 'Blood pressure panel' },
    subject: { reference: 'Patient/pat-smithers' },
    effectiveDateTime: '2024-06-01T12:00:00Z',
  },
  {
    // subject is a Group (so not `patient`); code without a system; no category
    resourceType: 'Observation',
    id: 'obs-group',
    status: 'final',
    code: { coding: [{ code: '8867-4' }] },
    subject: { reference: 'Group/grp-1' },
    effectiveDateTime: '2021-05-05T05:05:05Z',
    valueQuantity: { value: 60, unit: '/min', system: UCUM, code: '/min' },
  },
  {
    // no subject, no encounter, no effective[x], no category; 150 mg
    resourceType: 'Observation',
    id: 'obs-nosubj',
    status: 'preliminary',
    code: { coding: [{ code: 'local-1' }], text: 'Local thing' },
    valueQuantity: { value: 150, unit: 'mg', system: UCUM, code: 'mg' },
  },
] as const;

export const VALUE_SETS = [
  { resourceType: 'ValueSet', id: 'vs-colors', status: 'active', url: 'http://acme.org/fhir/ValueSet/colors' },
  { resourceType: 'ValueSet', id: 'vs-colors-ext', status: 'active', url: 'http://acme.org/fhir/ValueSet/colors/extended' },
  { resourceType: 'ValueSet', id: 'vs-fhirx', status: 'active', url: 'http://acme.org/fhirx/ValueSet/shapes' },
  { resourceType: 'ValueSet', id: 'vs-oid', status: 'active', url: 'urn:oid:1.2.3.4' },
] as const;

export const RISK_ASSESSMENTS = [
  { resourceType: 'RiskAssessment', id: 'ra-25', status: 'final', subject: { reference: 'Patient/pat-smith' }, prediction: [{ probabilityDecimal: 0.25 }] },
  { resourceType: 'RiskAssessment', id: 'ra-80', status: 'final', subject: { reference: 'Patient/pat-smith' }, prediction: [{ probabilityDecimal: 0.8 }] },
  {
    resourceType: 'RiskAssessment',
    id: 'ra-range',
    status: 'final',
    subject: { reference: 'Patient/pat-jones' },
    prediction: [{ probabilityRange: { low: { value: 0.1 }, high: { value: 0.3 } } }],
  },
] as const;

export const asResource = (r: object) => r as unknown as FhirResource;

/** Writes a resource under its own id (PUT, update-as-create). */
export async function put(client: Client, resource: { resourceType: string; id: string }): Promise<void> {
  await client.update({ resourceType: resource.resourceType, id: resource.id, body: asResource(resource) });
}

/** Seeds the whole dataset; references point at resources written before them where it matters. */
export async function seed(client: Client): Promise<void> {
  await Promise.all(ORGANIZATIONS.map((r) => put(client, r)));
  await Promise.all(PATIENTS.map((r) => put(client, r)));
  await Promise.all([...ENCOUNTERS, ...VALUE_SETS, ...RISK_ASSESSMENTS].map((r) => put(client, r)));
  await Promise.all(OBSERVATIONS.map((r) => put(client, r)));
}

export type Params = Record<string, string | string[]>;

/** `a=1&a=2&b=3` as fhir-kit-client search parameters (repeated names become arrays). */
export function paramsOf(query: string): Params {
  const out: Params = {};
  for (const [k, v] of new URLSearchParams(query)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export const matchEntries = (bundle: Bundle): BundleEntry[] => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match');
export const outcomeEntries = (bundle: Bundle): BundleEntry[] => (bundle.entry ?? []).filter((e) => e.search?.mode === 'outcome');
export const idsOf = (bundle: Bundle): string[] => matchEntries(bundle).map((e) => (e.resource as R4Resource).id as string);

export function assertSearchset(bundle: Bundle): void {
  assert.equal(bundle.resourceType, 'Bundle', JSON.stringify(bundle).slice(0, 300));
  assert.equal(bundle.type, 'searchset');
}

/** Every page of a search through fhir-kit-client (nextPage), as the ordered list of match ids. */
export async function searchAll(client: Client, resourceType: string, query: string | Params, maxPages = 50): Promise<string[]> {
  let bundle = (await client.search({ resourceType, searchParams: typeof query === 'string' ? paramsOf(query) : query })) as unknown as Bundle;
  const ids: string[] = [];
  for (let page = 0; ; page++) {
    assertSearchset(bundle);
    ids.push(...idsOf(bundle));
    const next = client.nextPage({ bundle: bundle as unknown as FhirResource & { link: { relation: string; url: string }[] } });
    if (!next) return ids;
    assert.ok(page < maxPages, `more than ${maxPages} pages`);
    bundle = (await next) as unknown as Bundle;
  }
}

/** The set of ids a search matches (all pages), sorted, duplicates kept so they show. */
export async function searchIds(client: Client, resourceType: string, query: string | Params): Promise<string[]> {
  return (await searchAll(client, resourceType, query)).sort();
}

/** A small deterministic PRNG (mulberry32), for the parser fuzz. */
export { prng } from '../support/prng.js';
