// Unit tests for src/search/registry/expression.ts (FHIR R4 searchparameter.html#expression):
// splitting SearchParameter expressions on top-level `|` and keeping one type's branches.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { SearchParameter } from 'fhir/r4.js';
import { branches, splitForType, splitTopLevel, stripWrappingParens } from '../../../../src/search/registry/expression.js';

const require = createRequire(import.meta.url);
const bundle = require('hl7.fhir.r4.examples/Bundle-searchParams.json') as { entry: { resource: SearchParameter }[] };
const r4 = (id: string): SearchParameter => {
  const sp = bundle.entry.map((e) => e.resource).find((r) => r.id === id);
  assert.ok(sp, id);
  return sp;
};

describe('splitForType', () => {
  it('keeps only the Observation branch of the clinical-patient union (32 branches in R4 4.0.1)', () => {
    const expression = r4('clinical-patient').expression as string;
    assert.equal(splitTopLevel(expression).length, 32);
    assert.equal(splitForType(expression, 'Observation'), 'Observation.subject.where(resolve() is Patient)');
    assert.equal(splitForType(expression, 'Encounter'), 'Encounter.subject.where(resolve() is Patient)');
    assert.equal(splitForType(expression, 'Patient'), undefined);
  });

  it('strips wrapping parentheses from branches and keeps every branch of the type', () => {
    const expression = r4('Observation-value-quantity').expression as string;
    assert.equal(expression, '(Observation.value as Quantity) | (Observation.value as SampledData)');
    assert.equal(splitForType(expression, 'Observation'), 'Observation.value as Quantity | Observation.value as SampledData');
  });

  it('keeps parentheses that do not wrap the whole branch, and matches the type after them', () => {
    assert.equal(
      splitForType('(Observation.value as CodeableConcept).text | Condition.code.text', 'Observation'),
      '(Observation.value as CodeableConcept).text',
    );
    assert.equal(stripWrappingParens('(a).b | (c)'), '(a).b | (c)');
    assert.equal(stripWrappingParens('((a.b))'), 'a.b');
  });

  it('does not split inside parentheses or string literals', () => {
    const expression = "Patient.telecom.where(system='a | b') | Patient.name.where((given | family).exists()) | Group.name";
    assert.deepEqual(splitTopLevel(expression), [
      "Patient.telecom.where(system='a | b')",
      'Patient.name.where((given | family).exists())',
      'Group.name',
    ]);
    assert.equal(splitForType(expression, 'Patient'), "Patient.telecom.where(system='a | b') | Patient.name.where((given | family).exists())");
    assert.deepEqual(splitTopLevel("Patient.name.where(text = 'it\\'s | x')"), ["Patient.name.where(text = 'it\\'s | x')"]);
  });

  it('splits a union nested inside wrapping parentheses', () => {
    assert.deepEqual(branches('(Patient.name | Patient.alias) | Group.name'), ['Patient.name', 'Patient.alias', 'Group.name']);
  });

  it('does not take a type whose name merely starts like the wanted one', () => {
    assert.equal(splitForType('Observation.code | ObservationDefinition.code', 'ObservationDefinition'), 'ObservationDefinition.code');
    assert.equal(splitForType('ObservationDefinition.code', 'Observation'), undefined);
  });

  it('rewrites Resource. and DomainResource. branches (the common parameters) to the concrete type', () => {
    assert.equal(splitForType(r4('Resource-lastUpdated').expression as string, 'Patient'), 'Patient.meta.lastUpdated');
    assert.equal(splitForType('Resource.id', 'Bundle'), 'Bundle.id');
    assert.equal(splitForType('DomainResource.text', 'Patient'), 'Patient.text');
    assert.equal(splitForType('DomainResource.text', 'Bundle'), undefined);
  });

  it('treats a branch without a type as relative to the resource (R4 InsurancePlan-name is `name | alias`)', () => {
    assert.equal(r4('InsurancePlan-name').expression, 'name | alias');
    assert.equal(splitForType('name | alias', 'InsurancePlan'), 'InsurancePlan.name | InsurancePlan.alias');
  });

  it('keeps a bare type name (the root of composite parameters)', () => {
    assert.equal(splitForType('Observation', 'Observation'), 'Observation');
  });

  it('drops duplicate branches', () => {
    assert.equal(splitForType('Patient.name | (Patient.name)', 'Patient'), 'Patient.name');
  });
});
