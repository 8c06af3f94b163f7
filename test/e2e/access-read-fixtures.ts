// Seed data and a FhirService harness for the SMART read-constraint tests
// (test/e2e/access-read.test.ts, test/e2e/access-property.test.ts): two patients, A and B (ids
// a, a-*, b, b-*), each with Observations (laboratory and vital-signs), an Encounter, a Condition
// and a List; a shared Practitioner; a Questionnaire (neither in the compartment nor shared).
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { FhirComposition } from '../../src/compose.js';
import { ANONYMOUS_ACCESS, type JsonObject } from '../../src/core/types.js';
import { newTenant } from '../support/database.js';
import { requestsTo, type SendAs } from '../support/service-requests.js';

export const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

export type { Reply } from '../support/service-requests.js';

function observation(id: string, patient: string, category: string, code: string, extra: JsonObject = {}): JsonObject {
  return {
    resourceType: 'Observation', id, status: 'final',
    category: [{ coding: [{ system: CATEGORY, code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patient}` },
    identifier: [{ system: 'http://example.org/obs', value: id }],
    ...extra,
  };
}

/** The seed: A's and B's data (ids a-*, b-*), the shared Practitioner, Lists and a Questionnaire. */
export function seedResources(withB: boolean): JsonObject[] {
  const of = (p: 'a' | 'b', name: string): JsonObject[] => [
    { resourceType: 'Patient', id: p, name: [{ family: name }], generalPractitioner: [{ reference: 'Practitioner/doc' }] },
    observation(`${p}-lab`, p, 'laboratory', '2339-0', { performer: [{ reference: 'Practitioner/doc' }], effectiveDateTime: '2024-01-0' + (p === 'a' ? '1' : '2') }),
    observation(`${p}-vital`, p, 'vital-signs', '8867-4', { effectiveDateTime: '2024-02-01' }),
    observation(`${p}-only`, p, 'laboratory', p === 'a' ? '1111-1' : '9999-9', { performer: [{ reference: 'Practitioner/doc' }] }),
    { resourceType: 'Encounter', id: `${p}-enc`, status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${p}` } },
    { resourceType: 'Condition', id: `${p}-cond`, subject: { reference: `Patient/${p}` }, code: { text: 'cough' }, encounter: { reference: `Encounter/${p}-enc` } },
    { resourceType: 'List', id: `${p}-list`, status: 'current', mode: 'working', subject: { reference: `Patient/${p}` }, entry: [{ item: { reference: 'Observation/a-lab' } }, { item: { reference: 'Observation/b-lab' } }] },
  ];
  return [
    { resourceType: 'Practitioner', id: 'doc', name: [{ family: 'Doctor' }] },
    { resourceType: 'Questionnaire', id: 'q', status: 'active' },
    ...of('a', 'Alder'),
    // A's Observation pointing at B's (has-member): an include must not follow it out of reach.
    observation('a-panel', 'a', 'laboratory', '24323-8', { hasMember: [{ reference: 'Observation/b-lab' }] }),
    ...(withB ? of('b', 'Bobson') : []),
    // A type only B has data of: which types other patients have must not show either.
    ...(withB ? [{ resourceType: 'AllergyIntolerance', id: 'b-allergy', patient: { reference: 'Patient/b' } }] : []),
  ];
}

export interface Harness {
  send: SendAs;
}

/** A FhirService on the test database and a fresh tenant with the seed. */
export async function seededTenant(composition: FhirComposition, pool: pg.Pool, withB: boolean): Promise<Harness> {
  const tenant = await newTenant(pool);
  const send = requestsTo(composition.service, () => tenant);
  for (const resource of seedResources(withB)) {
    const reply = await send(ANONYMOUS_ACCESS, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource, bodyKind: 'resource' });
    assert.ok(reply.status === 201, `seed ${resource.resourceType}/${resource.id}: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return { send };
}

