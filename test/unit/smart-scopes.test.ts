// Unit tests for src/core/smart-scopes.ts (SMART App Launch 2.x scopes-and-launch-context):
// v1 and v2 resource scopes, granular constraints, context scopes, and what breaks the grammar.
import assert from 'node:assert/strict';
import { grantsFor, parseResourceScope, parseScopes, permissionFor } from '../../src/core/smart-scopes.js';

const perms = (scope: string) => [...(parseResourceScope(scope)?.permissions ?? [])].join('');

describe('SMART scopes', () => {
  it('v2 permissions are any subset of c r u d s, in that order', () => {
    assert.equal(perms('patient/Observation.rs'), 'rs');
    assert.equal(perms('user/*.cruds'), 'cruds');
    assert.equal(perms('system/Patient.cud'), 'cud');
    assert.equal(perms('patient/Observation.s'), 's');
    assert.equal(parseResourceScope('patient/Observation.rs')?.version, 2);
  });

  it('v1 read, write and * map to rs, cud and cruds', () => {
    assert.equal(perms('patient/*.read'), 'rs');
    assert.equal(perms('user/Observation.write'), 'cud');
    assert.equal(perms('system/*.*'), 'cruds');
    assert.equal(parseResourceScope('system/*.*')?.version, 1);
  });

  it('refuses what breaks the grammar', () => {
    for (const scope of [
      'patient/Observation.sr', // out of order
      'patient/Observation.rrs', // repeated
      'patient/Observation.', // no permission
      'patient/Observation.x',
      'patient/Observation.Read', // case-sensitive
      'patient/observation.rs', // not a resource type
      'patient/Obs.rs',
      'admin/Observation.rs', // unknown context
      'Patient/Observation.rs',
      'patient/Observation.read?category=x', // granular scopes are v2 only
      'patient/Observation.rs?', // empty constraint
      'patient/Observation.rs?category=', // constraint without a value
      'patient/Observation.rs?=laboratory',
      'patient/Observation',
      'patient/.rs',
    ]) {
      assert.equal(parseResourceScope(scope), undefined, scope);
    }
  });

  it('keeps the search parameters of a granular scope', () => {
    const scope = parseResourceScope('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory');
    assert.ok(scope);
    assert.equal(scope.constraints?.get('category'), 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory');
    assert.equal(parseResourceScope('patient/Observation.rs')?.constraints, undefined);
  });

  it('sorts a scope string into resource, identity, launch, other and invalid scopes', () => {
    const parsed = parseScopes('openid fhirUser launch/patient offline_access patient/Observation.rs  patient/*.read bogus/Thing.rs patient/Observation.sr launch profile');
    assert.deepEqual(parsed.resources.map((r) => r.scope), ['patient/Observation.rs', 'patient/*.read']);
    assert.equal(parsed.openid, true);
    assert.equal(parsed.fhirUser, true);
    assert.equal(parsed.offlineAccess, true);
    assert.equal(parsed.onlineAccess, false);
    assert.deepEqual(parsed.launch, { ehr: true, patient: true, encounter: false });
    assert.deepEqual(parsed.invalid, ['patient/Observation.sr']);
    assert.deepEqual(parsed.other, ['bogus/Thing.rs', 'profile']);
    assert.deepEqual(parseScopes('patient/Observation.rs patient/Observation.rs').resources.length, 1, 'a repeated scope counts once');
  });

  it('maps each interaction to its permission letter', () => {
    assert.equal(permissionFor('create'), 'c');
    for (const i of ['read', 'vread', 'history-instance'] as const) assert.equal(permissionFor(i), 'r', i);
    for (const i of ['update', 'patch'] as const) assert.equal(permissionFor(i), 'u', i);
    assert.equal(permissionFor('delete'), 'd');
    for (const i of ['search-type', 'search-system', 'history-type', 'history-system'] as const) assert.equal(permissionFor(i), 's', i);
  });

  it('grantsFor: only scopes of the type (or *), with the permission, in the context asked', () => {
    const { resources } = parseScopes('patient/Observation.rs user/*.r system/Patient.c');
    const names = (list: { scope: string }[]) => list.map((s) => s.scope);
    assert.deepEqual(names(grantsFor(resources, 'search-type', 'Observation')), ['patient/Observation.rs']);
    assert.deepEqual(names(grantsFor(resources, 'read', 'Observation')), ['patient/Observation.rs', 'user/*.r']);
    assert.deepEqual(names(grantsFor(resources, 'read', 'Observation', 'patient')), ['patient/Observation.rs']);
    assert.deepEqual(names(grantsFor(resources, 'search-type', 'Encounter')), [], 'user/*.r does not allow search');
    assert.deepEqual(names(grantsFor(resources, 'update', 'Observation')), []);
    assert.deepEqual(names(grantsFor(resources, 'create', 'Patient')), ['system/Patient.c']);
    assert.deepEqual(names(grantsFor(resources, 'create', 'Observation')), []);
  });
});
