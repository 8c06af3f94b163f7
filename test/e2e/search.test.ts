// End-to-end search (FHIR R4 search.html, http.html#search) against a real server in both
// database modes, driven by fhir-kit-client (search, nextPage) and by plain fetch where the
// status, headers or raw body matter. A deterministic dataset (./search-fixtures.ts) is
// seeded once per mode; every assertion is on the EXACT set (or order) of matching ids.
// Tests that write get a fresh tenant each.
import assert from 'node:assert/strict';
import type { Bundle, Observation, OperationOutcome, Patient } from 'fhir/r4.js';
import { Client, type FhirResource } from 'fhir-kit-client';
import { assertOutcome, http } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';
import {
  asResource, assertSearchset, idsOf, LOINC, matchEntries, MRN, OBS_CATEGORY, OBSERVATIONS, OTHER_ID, outcomeEntries, paramsOf,
  PATIENTS, prng, put, searchAll, searchIds, seed, SNOMED, TAGS, TEST_PROFILE, UCUM,
} from './search-fixtures.js';

type Case = [query: string, expected: string[]];

const ALL_PATIENTS = PATIENTS.map((p) => p.id);
const ALL_OBSERVATIONS = OBSERVATIONS.map((o) => o.id);
const without = (all: readonly string[], ...ids: string[]) => all.filter((id) => !ids.includes(id));
const sorted = (ids: readonly string[]) => [...ids].sort();

// --- Expected results on the seeded dataset (see search-fixtures.ts for the values) ----------

const STRING_CASES: Case[] = [
  // default: case- and accent-insensitive, matching the start of any name part
  ['name=smi', ['pat-smith', 'pat-smith-accent', 'pat-smithers']],
  ['name=SMÍ', ['pat-smith', 'pat-smith-accent', 'pat-smithers']],
  ['family=smíth', ['pat-smith', 'pat-smith-accent', 'pat-smithers']],
  ['family=Smith', ['pat-smith', 'pat-smith-accent', 'pat-smithers']],
  ['given=eloise', ['pat-goldsmith']],
  ['given=jo', ['pat-jones', 'pat-smith']], // Jo (and Mary) / John
  ['name=mary', ['pat-jones']],
  ['family=mith', []], // not at the start
  // :exact: whole value, case- and accent-sensitive
  ['family:exact=Smith', ['pat-smith']],
  ['family:exact=Smíth', ['pat-smith-accent']],
  ['family:exact=smith', []],
  ['family:exact=SMITH', []],
  // :contains: anywhere, insensitive
  ['family:contains=MITH', ['pat-goldsmith', 'pat-smith', 'pat-smith-accent', 'pat-smithers']],
  ['name:contains=ois', ['pat-goldsmith']],
  // comma = OR; repeated parameters and different parameters = AND
  ['family=smith,jones', ['pat-jones', 'pat-smith', 'pat-smith-accent', 'pat-smithers']],
  ['family=smi&given=anna', ['pat-smith-accent']],
  ['family=smi&family=smithe', ['pat-smithers']],
  ['family=jones&given=bob', []],
  ['family:missing=false', ALL_PATIENTS],
  ['family:missing=true', []],
];

const PATIENT_TOKEN_CASES: Case[] = [
  ['identifier=A100', ['pat-smith', 'pat-smith-accent']],
  [`identifier=${MRN}|A100`, ['pat-smith']],
  ['identifier=|A100', ['pat-smith-accent']],
  [`identifier=${MRN}|`, ['pat-jones', 'pat-smith']],
  [`identifier=${OTHER_ID}|A100`, []],
  [`identifier=${OTHER_ID}|B200,${MRN}|C300`, ['pat-jones', 'pat-smithers']],
  ['identifier=a100', []], // tokens are case-sensitive
  ['identifier:missing=true', ['pat-goldsmith', 'pat-nguyen']],
  ['active=true', ['pat-jones', 'pat-nguyen', 'pat-smith']],
  ['active=false', ['pat-smith-accent']],
  ['active:missing=true', ['pat-goldsmith', 'pat-smithers']],
  // :not includes resources without a value (search.html#modifiers)
  ['active:not=true', ['pat-goldsmith', 'pat-smith-accent', 'pat-smithers']],
  ['gender=male', ['pat-smith', 'pat-smithers']],
  ['gender=female,other', ['pat-goldsmith', 'pat-jones', 'pat-smith-accent']],
  ['gender:not=male', ['pat-goldsmith', 'pat-jones', 'pat-nguyen', 'pat-smith-accent']],
  ['gender:not=male,female', ['pat-goldsmith', 'pat-nguyen']],
  ['gender:missing=true', ['pat-nguyen']],
  ['gender:missing=false', without(ALL_PATIENTS, 'pat-nguyen')],
  ['gender=male&active=true', ['pat-smith']],
];

const OBSERVATION_TOKEN_CASES: Case[] = [
  ['code=8867-4', ['obs-group', 'obs-hr1', 'obs-hr2', 'obs-hr3']],
  [`code=${LOINC}|8867-4`, ['obs-hr1', 'obs-hr2', 'obs-hr3']],
  ['code=|8867-4', ['obs-group']],
  [`code=${SNOMED}|`, ['obs-bp']],
  [`code=${SNOMED}|75367002`, ['obs-bp']],
  [`code=${LOINC}|75367002`, []],
  ['code=85354-9', ['obs-bp']],
  ['code=8867-4,29463-7', ['obs-bw', 'obs-group', 'obs-hr1', 'obs-hr2', 'obs-hr3']],
  ['code:not=8867-4', ['obs-bp', 'obs-bw', 'obs-glu', 'obs-nosubj']],
  [`code:not=${LOINC}|8867-4`, ['obs-bp', 'obs-bw', 'obs-glu', 'obs-group', 'obs-nosubj']],
  ['code:text=heart', ['obs-hr1', 'obs-hr2', 'obs-hr3']],
  ['code:text=HEART RA', ['obs-hr1', 'obs-hr2', 'obs-hr3']],
  ['code:text=blood', ['obs-bp']],
  ['code:text=body', ['obs-bw']],
  ['category=vital-signs', ['obs-bp', 'obs-bw', 'obs-hr1', 'obs-hr2', 'obs-hr3']],
  [`category=${OBS_CATEGORY}|laboratory`, ['obs-glu']],
  ['category:missing=true', ['obs-group', 'obs-nosubj']],
  ['category:missing=false', without(ALL_OBSERVATIONS, 'obs-group', 'obs-nosubj')],
  ['status=preliminary', ['obs-nosubj']],
  ['code=8867-4&subject=pat-smith', ['obs-hr1']],
];

const REFERENCE_CASES: [type: string, query: string, expected: string[]][] = [
  ['Observation', 'subject=Patient/pat-smith', ['obs-bw', 'obs-hr1']],
  ['Observation', 'subject=pat-smith', ['obs-bw', 'obs-hr1']],
  ['Observation', 'subject:Patient=pat-smith', ['obs-bw', 'obs-hr1']],
  ['Observation', 'subject:Patient=Patient/pat-smith', ['obs-bw', 'obs-hr1']],
  ['Observation', 'patient=pat-smith', ['obs-bw', 'obs-hr1']],
  ['Observation', 'patient=Patient/pat-jones', ['obs-glu', 'obs-hr2']],
  ['Observation', 'subject=pat-smith,pat-jones', ['obs-bw', 'obs-glu', 'obs-hr1', 'obs-hr2']],
  ['Observation', 'subject=Group/grp-1', ['obs-group']],
  ['Observation', 'subject:Group=grp-1', ['obs-group']],
  // Observation.patient is `subject.where(resolve() is Patient)`: a Group subject is not one
  ['Observation', 'patient=grp-1', []],
  ['Observation', 'subject=Patient/nobody', []],
  ['Observation', 'subject:missing=true', ['obs-nosubj']],
  ['Observation', 'subject:missing=false', without(ALL_OBSERVATIONS, 'obs-nosubj')],
  ['Observation', 'patient:missing=true', ['obs-group', 'obs-nosubj']],
  ['Observation', 'encounter:missing=true', ['obs-bp', 'obs-glu', 'obs-group', 'obs-hr3', 'obs-nosubj']],
  ['Observation', 'encounter=enc-1', ['obs-bw', 'obs-hr1']],
  ['Observation', 'encounter=Encounter/enc-2', ['obs-hr2']],
  ['Encounter', 'subject=pat-smith', ['enc-1']],
  ['Encounter', 'patient=pat-jones', ['enc-2']],
  ['Patient', 'organization=org-acme', ['pat-jones', 'pat-smith']],
  ['Patient', 'organization=Organization/org-beta', ['pat-smith-accent']],
  ['Patient', 'organization:missing=true', ['pat-goldsmith', 'pat-nguyen', 'pat-smithers']],
  ['RiskAssessment', 'subject=pat-jones', ['ra-range']],
];

// Observation `date` (effective[x]); ranges in search-fixtures.ts.
const OBSERVATION_DATE_CASES: Case[] = [
  ['date=2023-01-15', ['obs-bw', 'obs-hr1']],
  ['date=eq2023-01-15', ['obs-bw', 'obs-hr1']],
  ['date=2023-01', ['obs-bw', 'obs-hr1']],
  ['date=2023', ['obs-bw', 'obs-hr1', 'obs-hr2', 'obs-hr3']],
  ['date=2023-03', ['obs-hr3']], // the Period lies within March
  ['date=2023-03-15', []], // a day inside the Period does not contain it
  ['date=2023-01-15T10:00:00Z', ['obs-hr1']],
  ['date=2023-01-15T10:00:00%2B00:00', ['obs-hr1']],
  ['date=2023-01-15T11:00:00%2B01:00', ['obs-hr1']],
  ['date=2023-01-15T10:00Z', ['obs-hr1']], // minute precision
  ['date=2023-01-15T10:00:00.000Z', []], // a 1 ms search range cannot contain the stored 1 s range
  ['date=ne2023', ['obs-bp', 'obs-glu', 'obs-group']],
  ['date=gt2023-02', ['obs-bp', 'obs-glu', 'obs-hr3']],
  ['date=gt2030', ['obs-glu']], // the ongoing Period has no end
  ['date=lt2023-01-15', ['obs-glu', 'obs-group']],
  ['date=lt2021', []],
  ['date=ge2023-03-01', ['obs-bp', 'obs-glu', 'obs-hr3']],
  ['date=le2023-01-15', ['obs-bw', 'obs-glu', 'obs-group', 'obs-hr1']],
  ['date=sa2023-01-15', ['obs-bp', 'obs-hr2', 'obs-hr3']],
  ['date=sa2023-03-31', ['obs-bp']],
  ['date=eb2023', ['obs-group']],
  ['date=eb2023-04', ['obs-bw', 'obs-group', 'obs-hr1', 'obs-hr2', 'obs-hr3']], // Period end 23:59:59 ends at 04-01T00:00
  ['date=ge2023-01-15T10:00:00Z', ['obs-bp', 'obs-bw', 'obs-glu', 'obs-hr1', 'obs-hr2', 'obs-hr3']],
  ['date=lt2023-01-15T10:00:00Z', ['obs-bw', 'obs-glu', 'obs-group']],
  ['date=ge2023&date=lt2023-02', ['obs-bw', 'obs-glu', 'obs-hr1']],
  ['date=2023-01-15,2023-02-20', ['obs-bw', 'obs-hr1', 'obs-hr2']],
  ['date:missing=true', ['obs-nosubj']],
];

const ENCOUNTER_DATE_CASES: Case[] = [
  ['date=2023-01-15', ['enc-1']],
  ['date=2023-02', ['enc-2']],
  ['date=ge2023-02', ['enc-2']],
  ['date=lt2023-01-15T10:00:00Z', ['enc-1']], // the Period starts at 09:00
  ['date=gt2023-01-15T10:00:00Z', ['enc-1', 'enc-2']], // ...and ends at 11:00
  ['date=eb2023-01-15T11:00:00Z', []],
  ['date=eb2023-01-15T11:00:01Z', ['enc-1']],
  ['date=sa2023-01-15T08:59:59Z', ['enc-1', 'enc-2']],
  ['date=sa2023-01-15T09:00:00Z', ['enc-2']],
];

const BIRTHDATE_CASES: Case[] = [
  ['birthdate=1970', ['pat-smith', 'pat-smith-accent', 'pat-smithers']],
  ['birthdate=1970-03', ['pat-smith', 'pat-smith-accent']],
  ['birthdate=1970-03-15', ['pat-smith']],
  ['birthdate=ne1970-03', ['pat-goldsmith', 'pat-jones', 'pat-smithers']],
  ['birthdate=gt1970-03-15', ['pat-goldsmith', 'pat-jones', 'pat-smith-accent', 'pat-smithers']],
  ['birthdate=lt1970-03-15', ['pat-smith-accent', 'pat-smithers']],
  ['birthdate=ge1985-12-31', ['pat-goldsmith', 'pat-jones']],
  ['birthdate=le1970-03', ['pat-smith', 'pat-smith-accent', 'pat-smithers']],
  ['birthdate=sa1970-03-15', ['pat-goldsmith', 'pat-jones']],
  ['birthdate=eb1985', ['pat-smith', 'pat-smith-accent', 'pat-smithers']],
  ['birthdate=eb1970-03-15', []],
  ['birthdate:missing=true', ['pat-nguyen']],
];

const QUANTITY_CASES: Case[] = [
  ['value-quantity=gt100', ['obs-hr2', 'obs-nosubj']],
  ['value-quantity=100', ['obs-bw', 'obs-hr3']],
  ['value-quantity=100||/min', ['obs-hr3']], // unit text
  [`value-quantity=100|${UCUM}|kg`, ['obs-bw']],
  [`value-quantity=100|${UCUM}|/min`, []], // obs-hr3 has no system
  ['value-quantity=ge100', ['obs-bw', 'obs-hr2', 'obs-hr3', 'obs-nosubj']],
  ['value-quantity=lt100', ['obs-glu', 'obs-group', 'obs-hr1']],
  ['value-quantity=le100', ['obs-bw', 'obs-glu', 'obs-group', 'obs-hr1', 'obs-hr3']],
  ['value-quantity=le72||/min', ['obs-group', 'obs-hr1']],
  ['value-quantity=lt72||/min', ['obs-group']],
  ['value-quantity=ge110||/min', ['obs-hr2']], // code /min, unit 'beats/minute'
  ['value-quantity=gt100||beats/minute', ['obs-hr2']],
  ['value-quantity=5.4', ['obs-glu']],
  ['value-quantity=5.40', ['obs-glu']],
  ['value-quantity=5', ['obs-glu']], // [4.5, 5.5)
  ['value-quantity=5.0', []], // [4.95, 5.05)
  ['value-quantity=ne100', ['obs-glu', 'obs-group', 'obs-hr1', 'obs-hr2', 'obs-nosubj']],
  ['value-quantity=gt100,lt60', ['obs-glu', 'obs-hr2', 'obs-nosubj']],
  ['value-quantity:missing=true', ['obs-bp']],
];

const NUMBER_CASES: Case[] = [
  ['probability=0.25', ['ra-25']],
  ['probability=gt0.5', ['ra-80']],
  ['probability=lt0.2', ['ra-range']],
  ['probability=ge0.8', ['ra-80']],
  ['probability=le0.25', ['ra-25', 'ra-range']],
  ['probability=gt0.25', ['ra-80', 'ra-range']],
  ['probability=0.2', []], // [0.15, 0.25): the Range 0.1..0.3 is not inside it
  ['probability=0.3', ['ra-25']], // [0.25, 0.35)
  ['probability=sa0.25', ['ra-80']],
  ['probability=eb0.3', ['ra-25']],
];

const URI_CASES: Case[] = [
  ['url=http://acme.org/fhir/ValueSet/colors', ['vs-colors']],
  ['url=http://acme.org/fhir/ValueSet/Colors', []],
  ['url=http://acme.org/fhir', []],
  ['url:below=http://acme.org/fhir', ['vs-colors', 'vs-colors-ext']],
  ['url:below=http://acme.org/fhir/', ['vs-colors', 'vs-colors-ext']],
  ['url:below=http://acme.org/fhir/ValueSet/colors', ['vs-colors', 'vs-colors-ext']],
  ['url:below=http://acme.org', ['vs-colors', 'vs-colors-ext', 'vs-fhirx']],
  ['url:above=http://acme.org/fhir/ValueSet/colors/extended/v2', ['vs-colors', 'vs-colors-ext']],
  ['url=urn:oid:1.2.3.4', ['vs-oid']],
  ['url:missing=false', ['vs-colors', 'vs-colors-ext', 'vs-fhirx', 'vs-oid']],
];

const COMMON_CASES: Case[] = [
  ['_id=pat-smith,pat-jones', ['pat-jones', 'pat-smith']],
  ['_id=pat-smith,pat-jones&gender=female', ['pat-jones']],
  ['_id=nobody', []],
  ['_id:not=pat-smith', without(ALL_PATIENTS, 'pat-smith')],
  [`_tag=${TAGS}|vip`, ['pat-smith']],
  ['_tag=regular', ['pat-jones']],
  [`_tag=${TAGS}|`, ['pat-jones', 'pat-smith']],
  [`_tag:not=${TAGS}|vip`, without(ALL_PATIENTS, 'pat-smith')],
  ['_tag:missing=true', without(ALL_PATIENTS, 'pat-jones', 'pat-smith')],
  [`_profile=${TEST_PROFILE}`, ['pat-smith']],
  ['_profile=http://example.org/fhir/StructureDefinition', []],
  ['_profile:below=http://example.org/fhir', ['pat-smith']],
];

const CHAIN_CASES: [type: string, query: string, expected: string[]][] = [
  ['Observation', 'subject:Patient.name=smi', ['obs-bp', 'obs-bw', 'obs-hr1', 'obs-hr3']],
  ['Observation', 'subject:Patient.family:exact=Smíth', ['obs-hr3']],
  ['Observation', 'subject:Patient.name=zzz', []],
  ['Observation', 'patient.name=jones', ['obs-glu', 'obs-hr2']], // Group has no `name`: unambiguous
  ['Observation', 'patient.gender=male', ['obs-bp', 'obs-bw', 'obs-hr1']],
  ['Observation', 'patient.birthdate=1970-03', ['obs-bw', 'obs-hr1', 'obs-hr3']],
  ['Observation', 'subject:Patient.name=smi&code=8867-4', ['obs-hr1', 'obs-hr3']],
  // two levels
  ['Observation', 'encounter.subject:Patient.name=smith', ['obs-bw', 'obs-hr1']],
  ['Observation', 'encounter.subject.name=jones', ['obs-hr2']],
  ['Observation', 'encounter:Encounter.date=2023-02-20', ['obs-hr2']], // bare `encounter.date` is ambiguous (EpisodeOfCare)
  ['Observation', 'subject:Patient._id=pat-smith', ['obs-bw', 'obs-hr1']],
  ['Observation', 'subject:Patient.organization.name=acme', ['obs-bw', 'obs-glu', 'obs-hr1', 'obs-hr2']],
  ['Observation', 'subject:Patient.organization.name=beta', ['obs-hr3']],
  ['Observation', 'subject:Patient.organization.name=acme,beta', ['obs-bw', 'obs-glu', 'obs-hr1', 'obs-hr2', 'obs-hr3']],
  ['Encounter', 'subject:Patient.organization=org-acme', ['enc-1', 'enc-2']],
  ['RiskAssessment', 'subject:Patient.name=jones', ['ra-range']],
  // reverse chains
  ['Patient', '_has:Observation:patient:code=29463-7', ['pat-smith']],
  ['Patient', '_has:Observation:patient:code=8867-4', ['pat-jones', 'pat-smith', 'pat-smith-accent']],
  ['Patient', '_has:Observation:subject:date=2024', ['pat-smithers']],
  ['Patient', '_has:Observation:patient:code=8867-4&gender=female', ['pat-jones', 'pat-smith-accent']],
  ['Patient', '_has:Observation:patient:value-quantity=gt100', ['pat-jones']],
  ['Patient', '_has:Observation:patient:encounter:Encounter.date=2023-02-20', ['pat-jones']],
  ['Patient', '_has:Observation:patient:_id=obs-hr1', ['pat-smith']],
  ['Patient', '_has:Observation:patient:code=nothing', []],
  ['Encounter', '_has:Observation:encounter:code=29463-7', ['enc-1']],
  // nested _has
  ['Organization', '_has:Patient:organization:gender=female', ['org-acme', 'org-beta']],
  ['Organization', '_has:Patient:organization:_has:Observation:patient:code=2339-0', ['org-acme']],
  ['Organization', '_has:Patient:organization:_has:Observation:patient:code=8867-4', ['org-acme', 'org-beta']],
  ['Patient', '_has:Encounter:subject:_has:Observation:encounter:code=8867-4', ['pat-jones', 'pat-smith']],
];

const SORT_CASES: [type: string, query: string, expected: string[]][] = [
  // desc by the latest end of each range; the ongoing Period first, no value last
  ['Observation', '_sort=-date', ['obs-glu', 'obs-bp', 'obs-hr3', 'obs-hr2', 'obs-bw', 'obs-hr1', 'obs-group', 'obs-nosubj']],
  ['Observation', '_sort=date,_id', ['obs-group', 'obs-glu', 'obs-bw', 'obs-hr1', 'obs-hr2', 'obs-hr3', 'obs-bp', 'obs-nosubj']],
  ['Observation', '_sort=value-quantity,_id', ['obs-glu', 'obs-group', 'obs-hr1', 'obs-bw', 'obs-hr3', 'obs-hr2', 'obs-nosubj', 'obs-bp']],
  ['Observation', '_sort=-value-quantity,-_id', ['obs-nosubj', 'obs-hr2', 'obs-hr3', 'obs-bw', 'obs-hr1', 'obs-group', 'obs-glu', 'obs-bp']],
  ['Observation', '_sort=-date&code=8867-4', ['obs-hr3', 'obs-hr2', 'obs-hr1', 'obs-group']],
  ['Patient', '_sort=birthdate,_id', ['pat-smithers', 'pat-smith-accent', 'pat-smith', 'pat-jones', 'pat-goldsmith', 'pat-nguyen']],
  ['Patient', '_sort=-birthdate', ['pat-goldsmith', 'pat-jones', 'pat-smithers', 'pat-smith-accent', 'pat-smith', 'pat-nguyen']],
  ['Patient', '_sort=_id', sorted(ALL_PATIENTS)],
  ['Patient', '_sort=-_id', sorted(ALL_PATIENTS).reverse()],
  ['RiskAssessment', '_sort=probability', ['ra-range', 'ra-25', 'ra-80']],
];

/** Search parameter names of a type, from the CapabilityStatement. */
async function capabilityParams(base: string, type: string): Promise<string[]> {
  const res = await http(`${base}/metadata`);
  const resource = res.body?.rest?.[0]?.resource?.find((r: { type: string }) => r.type === type);
  const names = (resource?.searchParam ?? []).map((p: { name: string }) => p.name) as string[];
  return names.length > 0 ? names : ['name', 'family', 'birthdate', 'gender', 'identifier', 'code', 'date', 'subject', 'value-quantity'];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const mode of DATABASE_MODES) {
  describe(`search end to end (${mode})`, function () {
    const hearth = useTestServer(mode);

    describe('on the seeded dataset', () => {
      let base = '';
      let client: Client;
      before(async () => {
        base = await hearth.server.newTenantBase();
        client = new Client({ baseUrl: base });
        await seed(client);
      });

      const ids = (type: string, query: string) => searchIds(client, type, query);
      const table = (title: string, type: string, cases: Case[]) =>
        describe(title, () => {
          for (const [query, expected] of cases) {
            it(`${type}?${query} -> [${expected.join(', ')}]`, async () => {
              assert.deepEqual(await ids(type, query), sorted(expected));
            });
          }
        });

      table('string (search.html#string)', 'Patient', STRING_CASES);
      table('token on Patient (search.html#token)', 'Patient', PATIENT_TOKEN_CASES);
      table('token on Observation (search.html#token)', 'Observation', OBSERVATION_TOKEN_CASES);
      describe('reference (search.html#reference)', () => {
        for (const [type, query, expected] of REFERENCE_CASES) {
          it(`${type}?${query} -> [${expected.join(', ')}]`, async () => assert.deepEqual(await ids(type, query), sorted(expected)));
        }
      });
      table('date against dateTime and Period (search.html#date)', 'Observation', OBSERVATION_DATE_CASES);
      table('date against an Encounter Period, at second precision', 'Encounter', ENCOUNTER_DATE_CASES);
      table('date against birthDate at day/month/year precision', 'Patient', BIRTHDATE_CASES);
      table('quantity (search.html#quantity)', 'Observation', QUANTITY_CASES);
      table('number, decimal and Range (search.html#number)', 'RiskAssessment', NUMBER_CASES);
      table('uri (search.html#uri)', 'ValueSet', URI_CASES);
      table('_id, _tag, _profile (search.html#all)', 'Patient', COMMON_CASES);

      describe('chaining and _has (search.html#chaining, #has)', () => {
        for (const [type, query, expected] of CHAIN_CASES) {
          it(`${type}?${query} -> [${expected.join(', ')}]`, async () => assert.deepEqual(await ids(type, query), sorted(expected)));
        }
      });

      describe('_sort (search.html#sort), every order also paged with _count=3', () => {
        for (const [type, query, expected] of SORT_CASES) {
          it(`${type}?${query}`, async () => {
            assert.deepEqual(await searchAll(client, type, query), expected);
            assert.deepEqual(await searchAll(client, type, `${query}&_count=3`), expected, 'paged');
          });
        }
      });

      describe('result parameters', () => {
        it('_total=accurate is the number of matches, whatever _count is', async () => {
          const bundle = (await client.search({ resourceType: 'Observation', searchParams: { code: '8867-4', _total: 'accurate', _count: 2 } })) as unknown as Bundle;
          assert.equal(bundle.total, 4);
          assert.equal(matchEntries(bundle).length, 2);
          assert.ok(bundle.link?.some((l) => l.relation === 'next'));
          const all = await searchAll(client, 'Observation', { code: '8867-4', _total: 'accurate', _count: '2' });
          assert.deepEqual(sorted(all), ['obs-group', 'obs-hr1', 'obs-hr2', 'obs-hr3']);
          const none = (await client.search({ resourceType: 'Patient', searchParams: { family: 'zzz', _total: 'accurate' } })) as unknown as Bundle;
          assert.equal(none.total, 0);
          assert.equal(none.entry, undefined);
        });

        it('_summary=count gives the total and no entries', async () => {
          const res = await http<Bundle>(`${base}/Observation?category=vital-signs&_summary=count&_count=2`);
          assert.equal(res.status, 200);
          assertSearchset(res.body);
          assert.equal(res.body.total, 5);
          assert.equal(res.body.entry, undefined);
          // A count has no pages: no next link, whatever _count says (search.html#summary).
          assert.deepEqual(res.body.link?.map((l) => l.relation), ['self']);
        });

        it('_total=estimate gives a non-negative number; _count=0 gives no entries', async () => {
          const estimate = (await client.search({ resourceType: 'Patient', searchParams: { _total: 'estimate' } })) as unknown as Bundle;
          assert.equal(typeof estimate.total, 'number');
          assert.ok((estimate.total as number) >= 0 && Number.isInteger(estimate.total));
          assert.deepEqual(sorted(idsOf(estimate)), sorted(ALL_PATIENTS));
          const zero = (await client.search({ resourceType: 'Patient', searchParams: { _count: 0, _total: 'accurate' } })) as unknown as Bundle;
          assert.equal(zero.total, ALL_PATIENTS.length);
          assert.equal(matchEntries(zero).length, 0);
        });

        it('_elements trims every entry to the named elements (plus id, meta, mandatory), marked SUBSETTED', async () => {
          const bundle = (await client.search({ resourceType: 'Observation', searchParams: { code: '8867-4', _elements: 'code,subject' } })) as unknown as Bundle;
          assert.deepEqual(sorted(idsOf(bundle)), ['obs-group', 'obs-hr1', 'obs-hr2', 'obs-hr3']);
          for (const entry of matchEntries(bundle)) {
            const obs = entry.resource as Observation;
            assert.ok(obs.code && obs.subject, JSON.stringify(obs));
            for (const gone of ['valueQuantity', 'effectiveDateTime', 'effectivePeriod', 'category', 'encounter']) {
              assert.equal((obs as unknown as Record<string, unknown>)[gone], undefined, `${gone} in ${JSON.stringify(obs)}`);
            }
            assert.ok(obs.meta?.tag?.some((t) => t.code === 'SUBSETTED'), 'SUBSETTED tag');
          }
        });

        it('the searchset Bundle: fullUrl per entry, search.mode match, self link', async () => {
          const res = await http<Bundle>(`${base}/Patient?family=jones`);
          assert.equal(res.status, 200);
          assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/);
          assertSearchset(res.body);
          assert.deepEqual(idsOf(res.body), ['pat-jones']);
          assert.equal(res.body.entry?.[0].fullUrl, `${base}/Patient/pat-jones`);
          const self = res.body.link?.find((l) => l.relation === 'self')?.url ?? '';
          assert.ok(self.startsWith(`${base}/Patient?`), self);
          assert.equal(new URL(self).searchParams.get('family'), 'jones');
        });
      });

      describe('POST [type]/_search (http.html#search)', () => {
        it('a form body gives the same result as GET', async () => {
          const query = { family: 'smith,jones', gender: 'female' };
          const viaGet = await searchIds(client, 'Patient', query);
          assert.deepEqual(viaGet, ['pat-jones', 'pat-smith-accent']);
          const viaPost = (await client.search({ resourceType: 'Patient', searchParams: query, options: { postSearch: true } })) as unknown as Bundle;
          assert.deepEqual(sorted(idsOf(viaPost)), viaGet);
          const raw = await http<Bundle>(`${base}/Patient/_search`, {
            method: 'POST',
            contentType: 'application/x-www-form-urlencoded',
            body: new URLSearchParams(query).toString(),
          });
          assert.equal(raw.status, 200);
          assert.deepEqual(sorted(idsOf(raw.body)), viaGet);
        });

        it('URL and body parameters combine (AND), chains and dates work in the body', async () => {
          const res = await http<Bundle>(`${base}/Observation/_search?code=8867-4`, {
            method: 'POST',
            contentType: 'application/x-www-form-urlencoded',
            body: 'subject%3APatient.name=smi&date=ge2023-02',
          });
          assert.equal(res.status, 200);
          assert.deepEqual(sorted(idsOf(res.body)), ['obs-hr3']);
        });

        it('an unknown parameter in the body is a 400 naming it', async () => {
          const res = await http(`${base}/Patient/_search`, { method: 'POST', contentType: 'application/x-www-form-urlencoded', body: 'bogus-param=1' });
          assert.equal(res.status, 400);
          assert.match(JSON.stringify(assertOutcome(res.body)), /bogus-param/);
        });
      });

      describe('errors (search.html#errors)', () => {
        const refusals: [path: string, mention: RegExp][] = [
          ['Patient?foo=bar', /foo/],
          ['Patient?family=smith&not-a-param=1', /not-a-param/],
          ['Patient?birthdate=2020-13-45', /birthdate/],
          ['Patient?birthdate=yesterday', /birthdate/],
          ['Observation?date=2023-02-30', /date/],
          ['Observation?date=2023-01-15T10:00:00', /date/], // a time without a zone
          ['Patient?family:foo=x', /family:foo/],
          ['Patient?gender:exact=male', /gender/],
          ['Observation?value-quantity:contains=1', /value-quantity/],
          ['Observation?value-quantity=xx100', /value-quantity/],
          ['Observation?value-quantity=abc', /value-quantity/],
          ['Patient?active:missing=maybe', /active/],
          ['Patient?_count=abc', /_count/],
          ['Patient?_total=maybe', /_total/],
          ['Patient?_sort=nonsense', /_sort/],
          ['Patient?_summary=everything', /_summary/],
          ['Patient?_page=not-a-cursor', /_page/],
          ['Observation?subject.name=x', /subject/], // ambiguous: Patient and Location have `name`
          ['Observation?encounter.date=2023', /EpisodeOfCare/], // ambiguous: Encounter and EpisodeOfCare have `date`
          ['Observation?code.name=x', /code/], // not a reference
          ['Observation?subject:Banana.name=x', /Banana/],
          ['Patient?_has:Observation:nothing:code=x', /nothing/],
          ['Patient?_has:Observation', /_has/],
          ['Patient?subject=x', /subject/], // Observation's, not Patient's
        ];
        for (const [path, mention] of refusals) {
          it(`GET ${path} -> 400 OperationOutcome`, async () => {
            const res = await http<OperationOutcome>(`${base}/${path}`);
            assert.equal(res.status, 400, res.text.slice(0, 300));
            assertOutcome(res.body);
            assert.ok(res.body.issue.every((i) => i.severity === 'error' || i.severity === 'fatal'), JSON.stringify(res.body));
            assert.match(JSON.stringify(res.body.issue), mention);
          });
        }

        it('Prefer: handling=lenient ignores the unknown parameter, reports it (search.mode outcome) and still filters', async () => {
          const res = await http<Bundle>(`${base}/Patient?foo=bar&family=jones&birthdate=not-a-date`, { headers: { prefer: 'handling=lenient' } });
          assert.equal(res.status, 200, res.text.slice(0, 300));
          assertSearchset(res.body);
          assert.deepEqual(idsOf(res.body), ['pat-jones']);
          const outcomes = outcomeEntries(res.body);
          assert.equal(outcomes.length, 1, JSON.stringify(res.body.entry));
          const outcome = outcomes[0].resource as OperationOutcome;
          assert.equal(outcome.resourceType, 'OperationOutcome');
          const text = JSON.stringify(outcome.issue);
          assert.match(text, /foo/);
          assert.match(text, /birthdate/);
          assert.ok(outcome.issue.every((i) => i.severity !== 'error' && i.severity !== 'fatal'), text);
        });

        it('lenient: the self link states only the parameters actually used (search.html: the server SHALL return them there)', async () => {
          const res = await http<Bundle>(`${base}/Patient?foo=bar&family=jones&birthdate=not-a-date`, { headers: { prefer: 'handling=lenient' } });
          assert.equal(res.status, 200);
          assert.deepEqual(idsOf(res.body), ['pat-jones']);
          const self = new URL(res.body.link?.find((l) => l.relation === 'self')?.url ?? 'http://missing/');
          assert.equal(self.searchParams.get('family'), 'jones');
          assert.deepEqual(
            [...self.searchParams.keys()].filter((k) => k === 'foo' || k === 'birthdate'),
            [],
            `the ignored parameters are not in the self link: ${self}`,
          );
        });

        it('a chain through an unknown type modifier is a 400, not a 500 (reference parameter without declared targets)', async () => {
          // RequestGroup.instantiates-canonical declares no target types, so the type modifier is
          // all that names the chained type; `_id` is the one tail that is not looked up in the registry.
          for (const path of ['RequestGroup?instantiates-canonical:Banana._id=x', 'RequestGroup?instantiates-canonical:Banana.name=x']) {
            const res = await http<OperationOutcome>(`${base}/${path}`);
            assert.equal(res.status, 400, `${path}: ${res.text.slice(0, 300)}`);
            assertOutcome(res.body);
          }
        });

        it('lenient through fhir-kit-client; strict (explicit or default) refuses', async () => {
          const lenient = (await client.search({
            resourceType: 'Observation',
            searchParams: { 'code:text': 'heart', 'subject:Banana': 'x' },
            options: { headers: { Prefer: 'handling=lenient' } },
          })) as unknown as Bundle;
          assert.deepEqual(sorted(idsOf(lenient)), ['obs-hr1', 'obs-hr2', 'obs-hr3']);
          assert.equal(outcomeEntries(lenient).length, 1);
          const strict = await http(`${base}/Patient?foo=bar&family=jones`, { headers: { prefer: 'handling=strict' } });
          assert.equal(strict.status, 400);
          const plain = await http(`${base}/Patient?foo=bar&family=jones`);
          assert.equal(plain.status, 400);
        });

        it('a search that matches nothing is 200 with an empty searchset, not 404', async () => {
          const res = await http<Bundle>(`${base}/Patient?family=nobody-at-all`);
          assert.equal(res.status, 200);
          assertSearchset(res.body);
          assert.deepEqual(idsOf(res.body), []);
        });
      });

      describe('a tampered _page cursor is a 400 with an OperationOutcome, never a 500', () => {
        const cursor = (values: unknown) => Buffer.from(JSON.stringify(values)).toString('base64url');
        const tampered: [query: string, values: unknown][] = [
          ['_sort=date', ['abc', 'x']],
          ['_sort=_lastUpdated', ['abc', 'x']],
          ['', [5]],
          ['', ['\u0000']],
          ['_sort=value-quantity', ['1e999999', 'x']],
        ];
        for (const [query, values] of tampered) {
          it(`Observation?${query}${query ? '&' : ''}_page=<${JSON.stringify(values)}>`, async () => {
            const res = await http<OperationOutcome>(`${base}/Observation?${query}${query ? '&' : ''}_page=${cursor(values)}`);
            assert.equal(res.status, 400, res.text.slice(0, 300));
            assertOutcome(res.body);
          });
        }
      });

      describe('parser fuzz', () => {
        it('300 random query strings against /Patient and /Observation: 200 or 4xx with an OperationOutcome, never 5xx', async function () {
          this.timeout(60_000);
          const names = {
            Patient: await capabilityParams(base, 'Patient'),
            Observation: await capabilityParams(base, 'Observation'),
          };
          const rnd = prng(mode === 'postgres' ? 20240601 : 20240602);
          const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)];
          const modifiers = ['missing', 'exact', 'contains', 'not', 'text', 'below', 'above', 'identifier', 'of-type', 'in', 'not-in', 'Patient', 'Group', 'Banana', 'iterate', '', 'x:y', '%3A', 'EXACT'];
          const prefixes = ['', '', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'xx', 'GT', 'e'];
          const cores = [
            '2023', '2023-01', '2023-01-15', '2023-01-15T10:00:00Z', '2023-01-15T10:00:00', '2023-02-30', '2023-13', '0000', '9999-12-31T23:59:59.999999999%2B14:00',
            '100', '-1', '0.000', '1e2', '1e309', '1.5e-400', 'NaN', '0x10', '1,2,3', '100||/min', `100|${UCUM}|kg`, '100|a', '1|2|3|4',
            'smith', 'Smíth', 'A100', `${MRN}|A100`, '|A100', `${MRN}|`, '|', '||', '\\', '\\,', '\\|', 'a\\$b', ',', ',,,', '$', "'", '"', ';DROP TABLE x;--',
            'Patient/pat-smith', 'pat-smith', 'Patient/', '#x', 'urn:uuid:1234', 'http://acme.org/fhir', 'true', 'false', 'maybe', '*', '%', '%ZZ', '%00',
            '%FF', '%C3%A9', '%E2%82', '%F0%9F%94%A5', '%ED%A0%80', '%u0041', ' ', '%20', '+', 'a'.repeat(3000), '😀', '\u202e', '[]', '{}', '()', '.*',
          ];
          const resultParams = ['_count', '_sort', '_total', '_summary', '_elements', '_page', '_format', '_pretty', '_include', '_revinclude', '_text', '_content', '_filter', '_list', '_query'];
          const junkNames = ['', 'foo', '%00', '_', '.', ':', '_has', '_has:', '_has:Patient', '_has:Observation:subject', 'a.b.c.d.e.f', 'subject:Patient.subject:Patient.subject:Patient.subject:Patient.subject:Patient.name', '%E2%82', 'ñame', 'name:', ':exact'];
          const name = (type: 'Patient' | 'Observation'): string => {
            const r = rnd();
            const code = pick(names[type]);
            if (r < 0.5) return code;
            if (r < 0.6) return `${code}:${pick(modifiers)}`;
            if (r < 0.68) return type === 'Patient' ? `_has:Observation:${pick(['patient', 'subject', 'code', 'nope'])}:${pick(names.Observation)}` : `_has:Patient:${pick(['link', 'organization'])}:${pick(names.Patient)}`;
            if (r < 0.76) return type === 'Observation' ? `${pick(['subject', 'patient', 'encounter', 'subject:Patient', 'code', 'subject:Group'])}.${pick(names.Patient)}` : `organization.${pick(['name', 'partof.name', 'foo', 'name:exact'])}`;
            if (r < 0.88) return pick(resultParams);
            return pick(junkNames);
          };
          const value = (): string => {
            const parts = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => pick(prefixes) + pick(cores));
            return parts.join(pick([',', '', '|', ':']));
          };
          const failures: string[] = [];
          const queries: { path: string; lenient: boolean }[] = [];
          for (let i = 0; i < 300; i++) {
            const type = i % 2 === 0 ? 'Patient' : 'Observation';
            const count = 1 + Math.floor(rnd() * 3);
            const pairs = Array.from({ length: count }, () => (rnd() < 0.05 ? pick(cores) : `${name(type)}=${value()}`));
            queries.push({ path: `${type}?${pairs.join('&')}`, lenient: rnd() < 0.3 });
          }
          for (let i = 0; i < queries.length; i += 10) {
            await Promise.all(
              queries.slice(i, i + 10).map(async ({ path, lenient }) => {
                const res = await fetch(`${base}/${path}`, { headers: { accept: 'application/fhir+json', ...(lenient ? { prefer: 'handling=lenient' } : {}) } });
                const text = await res.text();
                let body: { resourceType?: string; type?: string } | undefined;
                try {
                  body = JSON.parse(text);
                } catch {
                  body = undefined;
                }
                const shown = `${lenient ? '[lenient] ' : ''}${path.slice(0, 200)} -> ${res.status} ${text.slice(0, 200)}`;
                if (res.status === 200) {
                  if (body?.resourceType !== 'Bundle' || body.type !== 'searchset') failures.push(shown);
                } else if (res.status < 400 || res.status >= 500 || body?.resourceType !== 'OperationOutcome') failures.push(shown);
              }),
            );
          }
          assert.deepEqual(failures, [], `${failures.length} bad answers:\n${failures.join('\n')}`);
        });
      });
    });

    describe('with a fresh tenant per test', () => {
      const tenant = hearth.useTenant();
      const create = async <T extends object>(resource: T): Promise<T & { id: string; meta: { lastUpdated: string; versionId: string } }> =>
        (await tenant.client.create({ resourceType: (resource as { resourceType: string }).resourceType, body: asResource(resource) })) as unknown as T & {
          id: string;
          meta: { lastUpdated: string; versionId: string };
        };
      const obs = (id: string, date: string, code = 'PAGE'): Observation => ({
        resourceType: 'Observation',
        id,
        status: 'final',
        code: { coding: [{ system: 'http://example.org/codes', code }] },
        effectiveDateTime: date,
      });

      it('paging with _count follows next links and returns every match exactly once, in sort order, while others write', async () => {
        // 24 Observations, two per day, ids deliberately in the opposite order of creation.
        const originals = Array.from({ length: 24 }, (_, i) => obs(`pg-${String(23 - i).padStart(2, '0')}`, `2020-01-${String(1 + Math.floor(i / 2)).padStart(2, '0')}`));
        for (let i = 0; i < originals.length; i += 8) await Promise.all(originals.slice(i, i + 8).map((o) => put(tenant.client, o as { resourceType: string; id: string })));
        const firstPage = (await tenant.client.search({ resourceType: 'Observation', searchParams: { code: 'PAGE' } })) as unknown as Bundle;
        assert.equal(matchEntries(firstPage).length, 20, 'the default page size');
        assert.ok(firstPage.link?.some((l) => l.relation === 'next'));
        const key = (o: Observation) => `${o.effectiveDateTime}|${o.id}`;
        const inOrder = (list: Observation[]) => [...list].sort((a, b) => (key(a) < key(b) ? -1 : 1)).map((o) => o.id as string);

        let bundle = (await tenant.client.search({ resourceType: 'Observation', searchParams: { code: 'PAGE', _sort: 'date,_id', _count: 5, _total: 'accurate' } })) as unknown as Bundle;
        assert.equal(bundle.total, 24);
        const seen: string[] = [...idsOf(bundle)];
        assert.equal(seen.length, 5);
        // Between pages: one that sorts before the cursor (must not appear), one after (must),
        // an unrelated change to a seen one (must not reappear), and a not-yet-seen one deleted.
        await put(tenant.client, obs('pg-early', '2019-06-01') as { resourceType: string; id: string });
        const late = obs('pg-late', '2030-01-01');
        await put(tenant.client, late as { resourceType: string; id: string });
        await put(tenant.client, { ...originals.find((o) => o.id === seen[0]), status: 'amended' } as { resourceType: string; id: string });
        const doomed = inOrder(originals)[12];
        await tenant.client.delete({ resourceType: 'Observation', id: doomed });
        let pages = 1;
        for (;;) {
          const next = tenant.client.nextPage({ bundle: bundle as unknown as FhirResource & { link: { relation: string; url: string }[] } });
          if (!next) break;
          bundle = (await next) as unknown as Bundle;
          assertSearchset(bundle);
          assert.ok(matchEntries(bundle).length <= 5);
          seen.push(...idsOf(bundle));
          assert.ok(++pages < 20, 'runaway paging');
        }
        const expected = inOrder([...originals.filter((o) => o.id !== doomed), late]);
        assert.deepEqual(seen, expected);
        assert.equal(new Set(seen).size, seen.length, 'no duplicates');
        assert.equal(pages, 5);
      });

      it('paging in default order (no _sort) and in descending order: each match once', async () => {
        const list = Array.from({ length: 11 }, (_, i) => obs(`d-${i}`, `2021-0${1 + (i % 3)}-01`));
        await Promise.all(list.map((o) => put(tenant.client, o as { resourceType: string; id: string })));
        const plain = await searchAll(tenant.client, 'Observation', { code: 'PAGE', _count: '4' });
        assert.equal(plain.length, 11);
        assert.deepEqual(sorted(plain), sorted(list.map((o) => o.id as string)));
        const desc = await searchAll(tenant.client, 'Observation', { code: 'PAGE', _count: '2', _sort: '-date' });
        const expected = [...list].sort((a, b) => ((b.effectiveDateTime as string) + (a.id as string) > (a.effectiveDateTime as string) + (b.id as string) ? 1 : -1));
        // same order as the unpaged search, and each once
        assert.deepEqual(desc, await searchAll(tenant.client, 'Observation', { code: 'PAGE', _count: '100', _sort: '-date' }));
        assert.equal(new Set(desc).size, 11);
        assert.deepEqual(
          desc.map((id) => list.find((o) => o.id === id)?.effectiveDateTime),
          expected.map((o) => o.effectiveDateTime),
          'dates descending',
        );
      });

      it('_lastUpdated with a timestamp taken between two writes; _sort=_lastUpdated', async () => {
        const a = await create<Patient>({ resourceType: 'Patient', name: [{ family: 'Earlier' }] });
        await sleep(30);
        const between = new Date().toISOString();
        await sleep(30);
        const b = await create<Patient>({ resourceType: 'Patient', name: [{ family: 'Later' }] });
        const ids = (q: string) => searchIds(tenant.client, 'Patient', q);
        assert.deepEqual(await ids(`_lastUpdated=gt${between}`), [b.id]);
        assert.deepEqual(await ids(`_lastUpdated=ge${between}`), [b.id]);
        assert.deepEqual(await ids(`_lastUpdated=lt${between}`), [a.id]);
        assert.deepEqual(await ids(`_lastUpdated=le${between}`), [a.id]);
        assert.deepEqual(await ids(`_lastUpdated=${a.meta.lastUpdated}`), [a.id]);
        assert.deepEqual(await ids(`_lastUpdated=ge${a.meta.lastUpdated}`), sorted([a.id, b.id]));
        assert.deepEqual(await ids(`_lastUpdated=gt${between}&family=earlier`), []);
        assert.deepEqual(await ids(`_lastUpdated=${between.slice(0, 4)}`), sorted([a.id, b.id]));
        assert.deepEqual(await searchAll(tenant.client, 'Patient', '_sort=_lastUpdated'), [a.id, b.id]);
        assert.deepEqual(await searchAll(tenant.client, 'Patient', '_sort=-_lastUpdated'), [b.id, a.id]);
        const bad = await http(`${tenant.base}/Patient?_lastUpdated=gt-yesterday`);
        assert.equal(bad.status, 400);
      });

      it('_sort=_lastUpdated and _sort=-_lastUpdated page through next links', async () => {
        const created: string[] = [];
        for (let i = 0; i < 3; i++) {
          created.push((await create<Patient>({ resourceType: 'Patient', name: [{ family: `Paged${i}` }] })).id);
          await sleep(5);
        }
        assert.deepEqual(await searchAll(tenant.client, 'Patient', '_sort=_lastUpdated&_count=1'), created);
        assert.deepEqual(await searchAll(tenant.client, 'Patient', '_sort=-_lastUpdated&_count=2'), [...created].reverse());
      });

      it('deleted resources never appear: direct, _id, chains, _has, totals; re-creating brings them back', async () => {
        const c = tenant.client;
        const patient = (id: string, family: string) => ({ resourceType: 'Patient', id, name: [{ family }] });
        const ob = (id: string, subject: string) => ({ resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: LOINC, code: 'X-1' }] }, subject: { reference: `Patient/${subject}` } });
        for (const r of [patient('pat-a', 'Deleto'), patient('pat-b', 'Deleto'), patient('pat-c', 'Deleto')]) await put(c, r);
        for (const r of [ob('obs-a', 'pat-a'), ob('obs-b', 'pat-b'), ob('obs-c', 'pat-b'), ob('obs-d', 'pat-c')]) await put(c, r);
        await c.delete({ resourceType: 'Patient', id: 'pat-a' });
        await c.delete({ resourceType: 'Observation', id: 'obs-c' });
        await c.delete({ resourceType: 'Observation', id: 'obs-d' });
        assert.deepEqual(await searchIds(c, 'Patient', 'family=deleto'), ['pat-b', 'pat-c']);
        assert.deepEqual(await searchIds(c, 'Patient', '_id=pat-a,pat-b'), ['pat-b']);
        assert.deepEqual(await searchIds(c, 'Observation', 'code=X-1'), ['obs-a', 'obs-b']);
        assert.deepEqual(await searchIds(c, 'Observation', 'subject=pat-a'), ['obs-a'], 'the reference itself is still there');
        assert.deepEqual(await searchIds(c, 'Observation', 'subject:Patient.name=deleto'), ['obs-b'], 'no chain through a deleted Patient');
        assert.deepEqual(await searchIds(c, 'Patient', '_has:Observation:subject:code=X-1'), ['pat-b'], 'no _has through a deleted Observation');
        const count = (await c.search({ resourceType: 'Patient', searchParams: { _summary: 'count' } })) as unknown as Bundle;
        assert.equal(count.total, 2);
        await put(c, patient('pat-a', 'Deleto'));
        assert.deepEqual(await searchIds(c, 'Patient', 'family=deleto'), ['pat-a', 'pat-b', 'pat-c']);
        assert.deepEqual(await searchIds(c, 'Observation', 'subject:Patient.name=deleto'), ['obs-a', 'obs-b']);
      });

      it("other tenants' resources never appear, even with the same ids and references", async () => {
        const otherBase = await hearth.server.newTenantBase();
        const other = new Client({ baseUrl: otherBase });
        const mine = tenant.client;
        await put(mine, { resourceType: 'Patient', id: 'pat-x', name: [{ family: 'Alpha' }], gender: 'female' } as { resourceType: string; id: string });
        await put(other, { resourceType: 'Patient', id: 'pat-x', name: [{ family: 'Bravo' }], gender: 'female' } as { resourceType: string; id: string });
        await put(other, { resourceType: 'Observation', id: 'obs-x', status: 'final', code: { text: 'x', coding: [{ code: 'T-1' }] }, subject: { reference: 'Patient/pat-x' } } as { resourceType: string; id: string });
        assert.deepEqual(await searchIds(mine, 'Patient', 'family=bravo'), []);
        assert.deepEqual(await searchIds(other, 'Patient', 'family=alpha'), []);
        assert.deepEqual(await searchIds(mine, 'Patient', 'gender=female'), ['pat-x']);
        const mineBundle = (await mine.search({ resourceType: 'Patient', searchParams: { _id: 'pat-x', _total: 'accurate' } })) as unknown as Bundle;
        assert.equal(mineBundle.total, 1);
        assert.equal((matchEntries(mineBundle)[0].resource as Patient).name?.[0].family, 'Alpha');
        assert.deepEqual(await searchIds(mine, 'Observation', 'subject=pat-x'), []);
        assert.deepEqual(await searchIds(mine, 'Observation', 'code=T-1'), []);
        assert.deepEqual(await searchIds(other, 'Observation', 'subject:Patient.name=bravo'), ['obs-x']);
        assert.deepEqual(await searchIds(other, 'Observation', 'subject:Patient.name=alpha'), [], "chains stay in the tenant");
        assert.deepEqual(await searchIds(mine, 'Patient', '_has:Observation:subject:code=T-1'), [], '_has stays in the tenant');
        assert.deepEqual(await searchIds(other, 'Patient', '_has:Observation:subject:code=T-1'), ['pat-x']);
        const total = (await mine.search({ resourceType: 'Observation', searchParams: { _summary: 'count' } })) as unknown as Bundle;
        assert.equal(total.total, 0);
      });

      it('conditional create (If-None-Exist) uses search semantics: prefix/accent-insensitive strings, date precision', async () => {
        await put(tenant.client, PATIENTS[0]); // Smith, 1970-03-15
        await put(tenant.client, PATIENTS[1]); // Smíth, 1970-03
        const conditional = (criteria: string, family = 'New') =>
          http<Patient>(`${tenant.base}/Patient`, { method: 'POST', headers: { 'if-none-exist': criteria }, json: { resourceType: 'Patient', name: [{ family }] } });
        const one = await conditional('family=smith&birthdate=1970-03-15');
        assert.equal(one.status, 200, one.text.slice(0, 300));
        assert.equal(one.body.id, 'pat-smith');
        const accent = await conditional('family:exact=Smíth&birthdate=1970');
        assert.equal(accent.status, 200);
        assert.equal(accent.body.id, 'pat-smith-accent');
        const viaPrefix = await conditional('Patient?name=SMÍTH&gender=female');
        assert.equal(viaPrefix.status, 200);
        assert.equal(viaPrefix.body.id, 'pat-smith-accent');
        const two = await conditional('family=smith&birthdate=1970-03');
        assert.equal(two.status, 412, two.text.slice(0, 300));
        const ignoresCount = await conditional('family=smith&_count=1&birthdate=1970-03-15');
        assert.equal(ignoresCount.status, 200);
        assert.equal(ignoresCount.body.id, 'pat-smith');
        const bad = await conditional('foo=bar');
        assert.equal(bad.status, 400);
        assertOutcome(bad.body);
        const badDate = await conditional('birthdate=1970-02-30');
        assert.equal(badDate.status, 400);
        assert.deepEqual(await searchIds(tenant.client, 'Patient', 'family=new'), [], 'nothing created so far');
        const created = await conditional('family=smith&birthdate=1971', 'New');
        assert.equal(created.status, 201);
        assert.deepEqual(await searchIds(tenant.client, 'Patient', 'family=new'), [created.body.id]);
      });

      it('conditional update (PUT [type]?criteria) uses search semantics', async () => {
        await put(tenant.client, PATIENTS[0]);
        await put(tenant.client, PATIENTS[1]);
        const update = (criteria: string, body: object) => http<Patient>(`${tenant.base}/Patient?${criteria}`, { method: 'PUT', json: body });
        const one = await update('name=smíth&birthdate=1970-03-15', { resourceType: 'Patient', name: [{ family: 'Smith' }], gender: 'unknown' });
        assert.equal(one.status, 200, one.text.slice(0, 300));
        assert.equal(one.body.id, 'pat-smith');
        assert.equal(one.body.meta?.versionId, '2');
        assert.deepEqual(await searchIds(tenant.client, 'Patient', 'gender=unknown'), ['pat-smith']);
        const many = await update('family=smi', { resourceType: 'Patient', name: [{ family: 'X' }] });
        assert.equal(many.status, 412);
        const none = await update('family=nobody&birthdate=1999', { resourceType: 'Patient', name: [{ family: 'Nobody' }] });
        assert.equal(none.status, 201);
        assert.deepEqual(await searchIds(tenant.client, 'Patient', 'family=nobody'), [none.body.id]);
        const bad = await update('birthdate=gt', { resourceType: 'Patient' });
        assert.equal(bad.status, 400);
      });
    });
  });
}
