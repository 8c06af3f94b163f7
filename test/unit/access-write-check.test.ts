// The content check of writes under SMART scopes (src/fhir/access/write-check.ts and its
// write-compartment.ts / write-granular.ts): which grants reach which versions, on the R4
// Patient compartment and granular scope conditions. No I/O.
import assert from 'node:assert/strict';
import { FhirError } from '../../src/core/errors.js';
import type { AccessContext, JsonObject } from '../../src/core/types.js';
import { WriteGuard, writeReach, type WriteLetter } from '../../src/fhir/access/write-check.js';
import { compartmentProblem, otherPatientReference } from '../../src/fhir/access/write-compartment.js';
import { granularProblem } from '../../src/fhir/access/write-granular.js';
import { createIndexer } from '../../src/search/indexer.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import type { StoredVersion } from '../../src/storage/resource-store.js';

const registry = createSearchRegistry();
const indexer = createIndexer(registry);
const judges = { searching: registry, indexer };
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const LAB = `category=${CATEGORY}|laboratory`;

function access(scopes: string[], extra: Partial<AccessContext> = {}): AccessContext {
  return { subject: 'u', scopes, isAdmin: false, ...extra };
}

function observation(subject: string, extra: JsonObject = {}, category = 'laboratory'): JsonObject {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: CATEGORY, code: category }] }],
    code: { text: 'x' },
    subject: { reference: subject },
    ...extra,
  };
}

function stored(resource: JsonObject, id = 'o1', deleted = false): StoredVersion {
  return {
    resourceType: String(resource.resourceType),
    id,
    versionId: 1,
    lastUpdated: new Date(),
    deleted,
    content: deleted ? null : JSON.stringify({ ...resource, id }),
  };
}

function guard(a: AccessContext, letter: WriteLetter = 'u', type = 'Observation'): WriteGuard {
  return new WriteGuard(writeReach(a, letter, type), judges, letter, type);
}

function refusal(work: () => void): FhirError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof FhirError);
    return error;
  }
  assert.fail('expected a refusal');
}

const problem = (type: string, id: string, resource: JsonObject, patient = 'A') =>
  compartmentProblem(registry, type, id, resource, indexer({ ...resource, id }), patient);

describe('write check: reach of the scopes', () => {
  it('administrators and unconstrained grants reach everything', () => {
    assert.equal(writeReach(access([], { isAdmin: true }), 'c', 'Observation').kind, 'all');
    assert.equal(writeReach(access(['system/Observation.cud']), 'u', 'Observation').kind, 'all');
    assert.equal(writeReach(access(['user/*.cruds'], { fhirUser: 'Practitioner/9' }), 'd', 'Observation').kind, 'all');
  });

  it('patient scopes are confined to the launch patient, and grant nothing without one', () => {
    assert.deepEqual(writeReach(access(['patient/*.cruds'], { patient: 'A' }), 'c', 'Observation'), {
      kind: 'some',
      grants: [{ scope: 'patient/*.cruds', patient: 'A' }],
    });
    assert.deepEqual(writeReach(access(['patient/*.cruds']), 'c', 'Observation'), { kind: 'some', grants: [] });
  });

  it('user scopes of a Patient user behave like patient scopes (relative or absolute fhirUser)', () => {
    const relative = writeReach(access(['user/Observation.cu'], { fhirUser: 'Patient/P1' }), 'u', 'Observation');
    assert.deepEqual(relative, { kind: 'some', grants: [{ scope: 'user/Observation.cu', patient: 'P1' }] });
    const absolute = writeReach(access(['user/Observation.cu'], { fhirUser: 'https://h/fhir/Patient/P2' }), 'u', 'Observation');
    assert.deepEqual(absolute, { kind: 'some', grants: [{ scope: 'user/Observation.cu', patient: 'P2' }] });
  });

  it('only grants with the letter and the type count; granular ones carry their condition', () => {
    const reach = writeReach(access([`patient/Observation.cu?${LAB}`, 'patient/Condition.cud', 'patient/*.rs'], { patient: 'A' }), 'c', 'Observation');
    assert.equal(reach.kind, 'some');
    assert.ok(reach.kind === 'some');
    assert.equal(reach.grants.length, 1);
    assert.equal(reach.grants[0].patient, 'A');
    assert.equal(reach.grants[0].constraints?.toString(), new URLSearchParams(LAB).toString());
    assert.equal(writeReach(access([`system/Observation.cu?${LAB}`]), 'c', 'Observation').kind, 'some');
  });
});

describe('write check: the Patient compartment', () => {
  it('a resource whose compartment reference is the patient is inside', () => {
    assert.equal(problem('Observation', 'o', observation('Patient/A')), undefined);
    assert.equal(problem('Condition', 'c', { resourceType: 'Condition', subject: { reference: 'Patient/A' } }), undefined);
  });

  it('another patient as subject, performer or anywhere else is outside', () => {
    assert.match(String(problem('Observation', 'o', observation('Patient/B'))), /Patient\/B/);
    assert.match(String(problem('Observation', 'o', observation('Patient/A', { performer: [{ reference: 'Patient/B' }] }))), /Patient\/B/);
    assert.match(String(problem('Observation', 'o', observation('Patient/A', { focus: [{ reference: 'Patient/B/_history/2' }] }))), /Patient\/B/);
    assert.match(String(problem('Observation', 'o', observation('Patient/A', { performer: [{ reference: 'https://elsewhere/fhir/Patient/B' }] }))), /Patient\/B/);
    const contained = observation('Patient/A', { contained: [{ resourceType: 'Observation', id: 'c', status: 'final', code: {}, subject: { reference: 'Patient/B' } }] });
    assert.match(String(problem('Observation', 'o', contained)), /Patient\/B/);
  });

  it('a resource with no compartment reference to the patient is outside', () => {
    assert.match(String(problem('Observation', 'o', observation('Group/G'))), /none of its compartment references/);
    assert.match(String(problem('Observation', 'o', { resourceType: 'Observation', status: 'final', code: {} })), /none/);
  });

  it('a Patient is inside only by its own id; shared types are outside', () => {
    assert.equal(problem('Patient', 'A', { resourceType: 'Patient' }), undefined);
    assert.match(String(problem('Patient', 'N', { resourceType: 'Patient', link: [{ other: { reference: 'Patient/A' }, type: 'seealso' }] })), /not the launch patient/);
    assert.match(String(problem('Patient', 'A', { resourceType: 'Patient', link: [{ other: { reference: 'Patient/B' }, type: 'seealso' }] })), /Patient\/B/);
    assert.match(String(problem('Medication', 'm', { resourceType: 'Medication' })), /not in the Patient compartment/);
    assert.match(String(problem('Practitioner', 'p', { resourceType: 'Practitioner' })), /not in the Patient compartment/);
  });

  it('otherPatientReference ignores the patient, other types and conditional references', () => {
    assert.equal(otherPatientReference({ a: { reference: 'Patient/A' }, b: [{ reference: 'Practitioner/B' }], c: { reference: 'Patient?identifier=x|B' } }, 'A'), undefined);
    assert.equal(otherPatientReference({ a: [{ x: { reference: 'Patient/B' } }] }, 'A'), 'Patient/B');
  });
});

describe('write check: granular conditions', () => {
  const granular = (resource: JsonObject, constraint: string, type = 'Observation') =>
    granularProblem(registry, type, 'o', indexer({ ...resource, id: 'o' }), new URLSearchParams(constraint));

  it('a matching token passes, another category does not', () => {
    assert.equal(granular(observation('Patient/A'), LAB), undefined);
    assert.match(String(granular(observation('Patient/A', {}, 'vital-signs'), LAB)), /category/);
    assert.equal(granular(observation('Patient/A', {}, 'vital-signs'), `category=${CATEGORY}|laboratory,${CATEGORY}|vital-signs`), undefined);
  });

  it('every parameter of the condition must match; _id is decided too', () => {
    assert.match(String(granular(observation('Patient/A'), `${LAB}&status=amended`)), /status/);
    assert.equal(granular(observation('Patient/A'), '_id=o'), undefined);
    assert.match(String(granular(observation('Patient/A'), '_id=p')), /_id/);
  });

  it('conditions that cannot be decided on the resource alone refuse (fail closed)', () => {
    assert.match(String(granular(observation('Patient/A'), 'subject:Patient.name=x')), /cannot be evaluated/);
    assert.match(String(granular(observation('Patient/A'), '_has:Observation:has-member:status=final')), /cannot be evaluated/);
    assert.match(String(granular(observation('Patient/A'), '_lastUpdated=gt2020')), /cannot be evaluated/);
    assert.match(String(granular(observation('Patient/A'), '_count=1')), /cannot be evaluated/);
    assert.match(String(granular(observation('Patient/A'), 'no-such-param=1')), /cannot be evaluated/);
    assert.match(String(granular({ resourceType: 'Patient' }, LAB, 'Patient')), /cannot be evaluated/);
  });
});

describe('write check: the guard', () => {
  const patientA = access(['patient/*.cruds'], { patient: 'A' });

  it('sees the patient\'s versions, not another patient\'s, and no tombstone when constrained', () => {
    const g = guard(patientA);
    const own = stored(observation('Patient/A'));
    assert.equal(g.visible(own), own);
    assert.equal(g.visible(stored(observation('Patient/B'))), undefined);
    assert.equal(g.visible(stored(observation('Patient/A'), 'o1', true)), undefined);
    assert.equal(g.visible(undefined), undefined);
    assert.deepEqual(g.reachable([stored(observation('Patient/B'), 'b'), own]), [own]);
  });

  it('an unconstrained guard sees everything and judges nothing', () => {
    const g = new WriteGuard(writeReach(access(['system/*.cud']), 'u', 'Observation'), judges, 'u', 'Observation');
    const tombstone = stored(observation('Patient/B'), 'b', true);
    assert.equal(g.constrained, false);
    assert.equal(g.visible(tombstone), tombstone);
    g.assertContent('b', observation('Patient/B'), stored(observation('Patient/C')));
  });

  it('new content must be inside: 403 naming the scope and the reason', () => {
    const g = guard(patientA, 'c');
    g.assertContent('n', observation('Patient/A'));
    const error = refusal(() => g.assertContent('n', observation('Patient/B')));
    assert.equal(error.status, 403);
    assert.match(String(error.outcome.issue[0].diagnostics), /patient\/\*\.cruds \(patient A\).*Patient\/B/);
  });

  it('a patient scope without a launch patient allows no write', () => {
    const error = refusal(() => guard(access(['patient/*.cruds']), 'c').assertContent('n', observation('Patient/A')));
    assert.equal(error.status, 403);
  });

  it('one grant must reach both the previous version and the new content', () => {
    const twoGrants = access([`patient/Observation.u?${LAB}`, `patient/Observation.u?category=${CATEGORY}|vital-signs`], { patient: 'A' });
    const g = guard(twoGrants);
    const lab = stored(observation('Patient/A'));
    assert.equal(g.visible(lab), lab);
    g.assertContent('o1', observation('Patient/A', { status: 'amended' }), lab);
    // A lab result may not be turned into a vital sign, though each alone is within some scope.
    assert.equal(refusal(() => g.assertContent('o1', observation('Patient/A', {}, 'vital-signs'), lab)).status, 403);
    // A plain grant next to a granular one reaches everything in the compartment.
    const plain = guard(access([`patient/Observation.u?${LAB}`, 'patient/Observation.u'], { patient: 'A' }));
    plain.assertContent('o1', observation('Patient/A', {}, 'vital-signs'), lab);
  });

  it('granular conditions hold for system scopes too', () => {
    const g = guard(access([`system/Observation.c?${LAB}`]), 'c');
    g.assertContent('n', observation('Patient/B'));
    assert.equal(refusal(() => g.assertContent('n', observation('Patient/B', {}, 'vital-signs'))).status, 403);
  });
});
