// src/fhir/access/user-reach.ts and its use on both sides: user-context scopes reach as far as
// the token's fhirUser says, relative or absolute, and nothing when it does not say.
import assert from 'node:assert/strict';
import { effectiveGrants } from '../../src/fhir/access/access-scope.js';
import { userReach } from '../../src/fhir/access/user-reach.js';
import { writeReach } from '../../src/fhir/access/write-check.js';
import type { AccessContext } from '../../src/core/types.js';

const user = (fhirUser?: string): AccessContext => ({ subject: 'u', scopes: ['user/Observation.cruds'], isAdmin: false, fhirUser });

describe('userReach', () => {
  it('a Patient user, relative or absolute, reaches that patient', () => {
    assert.deepEqual(userReach(user('Patient/p1')), { kind: 'patient', patient: 'p1' });
    assert.deepEqual(userReach(user('https://idp.example.org/fhir/Patient/p1')), { kind: 'patient', patient: 'p1' });
  });

  it('a Practitioner or PractitionerRole user reaches the tenant', () => {
    assert.deepEqual(userReach(user('Practitioner/d1')), { kind: 'tenant' });
    assert.deepEqual(userReach(user('https://ehr.example/fhir/PractitionerRole/r1')), { kind: 'tenant' });
  });

  it('anyone else, or no fhirUser, reaches nothing', () => {
    for (const fhirUser of [undefined, '', 'RelatedPerson/x', 'Person/y', 'Patient/', 'NotPatient/p1', 'Patient/p1/extra']) {
      assert.deepEqual(userReach(user(fhirUser)), { kind: 'none' }, String(fhirUser));
    }
  });

  it('the read side confines an absolute Patient fhirUser and grants nothing to an unnamed user', () => {
    assert.deepEqual(effectiveGrants(user('https://idp.example.org/fhir/Patient/p1')).map((g) => g.patient), ['p1']);
    assert.deepEqual(effectiveGrants(user(undefined)), []);
    assert.deepEqual(effectiveGrants(user('RelatedPerson/x')), []);
    assert.deepEqual(effectiveGrants(user('Practitioner/d1')).map((g) => g.patient), [undefined]);
  });

  it('the write side agrees', () => {
    assert.deepEqual(writeReach(user('https://idp.example.org/fhir/Patient/p1'), 'c', 'Observation'), {
      kind: 'some', grants: [{ scope: 'user/Observation.cruds', patient: 'p1' }],
    });
    assert.deepEqual(writeReach(user(undefined), 'c', 'Observation'), { kind: 'some', grants: [] });
    assert.deepEqual(writeReach(user('Practitioner/d1'), 'c', 'Observation'), { kind: 'all' });
  });
});
