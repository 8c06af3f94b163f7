// Unit tests for src/search/registry/registry.ts (FHIR R4 search.html, searchparameter.html,
// compartmentdefinition.html).
import assert from 'node:assert/strict';
import type { SearchParameter } from 'fhir/r4.js';
import { RESOURCE_TYPES } from '../../../../src/core/resource-types.js';
import { createSearchRegistry } from '../../../../src/search/registry/registry.js';

const registry = createSearchRegistry();
const COMMON = ['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', '_text', '_content'];

describe('search registry lookups', () => {
  it('Observation has its 38 R4 parameters plus the common ones', () => {
    const codes = [...registry.forType('Observation').keys()];
    assert.equal(codes.filter((c) => !c.startsWith('_')).length, 38);
    for (const code of COMMON) assert.ok(codes.includes(code), code);
  });

  it('Observation patient: the Observation branch only, with R4 targets', () => {
    const def = registry.get('Observation', 'patient');
    assert.ok(def);
    assert.equal(def.type, 'reference');
    assert.equal(def.url, 'http://hl7.org/fhir/SearchParameter/clinical-patient');
    assert.equal(def.expression, 'Observation.subject.where(resolve() is Patient)');
    assert.deepEqual(def.targets, ['Patient', 'Group']); // R4 lists Group although the expression keeps only Patients
    assert.deepEqual(def.extract({ resourceType: 'Observation', subject: { reference: 'Patient/1' } }), [{ reference: 'Patient/1' }]);
    assert.deepEqual(def.extract({ resourceType: 'Observation', subject: { reference: 'Group/1' } }), []);
  });

  it('Observation code and value-quantity', () => {
    const code = registry.get('Observation', 'code');
    assert.equal(code?.type, 'token');
    assert.equal(code?.expression, 'Observation.code');
    const value = registry.get('Observation', 'value-quantity');
    assert.equal(value?.type, 'quantity');
    assert.equal(value?.expression, 'Observation.value as Quantity | Observation.value as SampledData');
    const quantity = { value: 5.4, unit: 'mmol/L' };
    assert.deepEqual(value?.extract({ resourceType: 'Observation', valueQuantity: quantity }), [quantity]);
    assert.deepEqual(value?.extract({ resourceType: 'Observation', valueString: 'x' }), []);
  });

  it('code-value-quantity is composite with its two components', () => {
    const def = registry.get('Observation', 'code-value-quantity');
    assert.equal(def?.type, 'composite');
    assert.equal(def?.expression, 'Observation');
    assert.deepEqual(def?.components, [
      { definition: 'http://hl7.org/fhir/SearchParameter/clinical-code', expression: 'code' },
      { definition: 'http://hl7.org/fhir/SearchParameter/Observation-value-quantity', expression: 'value.as(Quantity)' },
    ]);
    const resource = { resourceType: 'Observation', code: { text: 'x' } };
    assert.deepEqual(def?.extract(resource), [resource]);
  });

  it('Patient name and birthdate', () => {
    const name = registry.get('Patient', 'name');
    assert.equal(name?.type, 'string');
    assert.equal(name?.expression, 'Patient.name');
    const birthdate = registry.get('Patient', 'birthdate');
    assert.equal(birthdate?.type, 'date');
    assert.equal(birthdate?.expression, 'Patient.birthDate');
    assert.deepEqual(birthdate?.extract({ resourceType: 'Patient', birthDate: '1970-01-01' }), ['1970-01-01']);
  });

  it('common parameters are rewritten for the type; _text only on DomainResources', () => {
    assert.equal(registry.get('Patient', '_lastUpdated')?.expression, 'Patient.meta.lastUpdated');
    assert.deepEqual(registry.get('Bundle', '_id')?.extract({ resourceType: 'Bundle', id: 'b' }), ['b']);
    assert.equal(registry.get('Bundle', '_text'), undefined);
    assert.ok(registry.get('Bundle', '_content'));
  });

  it('keeps special and expression-less parameters; near extracts the position, _text nothing', () => {
    const near = registry.get('Location', 'near');
    assert.equal(near?.type, 'special');
    assert.deepEqual(near?.extract({ resourceType: 'Location', position: { latitude: 1, longitude: 2 } }), [{ latitude: 1, longitude: 2 }]);
    const text = registry.get('Patient', '_text');
    assert.equal(text?.expression, '');
    assert.deepEqual(text?.extract({ resourceType: 'Patient', text: { status: 'generated', div: '<div/>' } }), []);
  });

  it('unknown types and codes', () => {
    assert.equal(registry.forType('NotAType').size, 0);
    assert.equal(registry.get('Patient', 'nope'), undefined);
  });

  it('is frozen and cached', () => {
    const defs = registry.forType('Patient');
    assert.equal(registry.forType('Patient'), defs);
    const def = defs.get('name');
    assert.ok(def && Object.isFrozen(def) && Object.isFrozen(def.targets));
    assert.ok(Object.isFrozen(registry.get('Observation', 'code-value-quantity')?.components));
    assert.throws(() => (defs as Map<string, unknown>).set('x', def), /frozen/);
    assert.throws(() => (defs as Map<string, unknown>).delete('name'), /frozen/);
    assert.ok(Object.isFrozen(registry));
  });

  it('compiles every parameter of every type (no FHIRPath errors in the R4 definitions)', () => {
    let count = 0;
    for (const type of RESOURCE_TYPES) count += registry.forType(type).size;
    assert.ok(count > 2900, String(count));
  });
});

describe('custom search parameters', () => {
  const eyeColour: SearchParameter = {
    resourceType: 'SearchParameter',
    url: 'http://example.org/SearchParameter/eye-colour',
    name: 'eye-colour',
    status: 'active',
    description: 'Eye colour',
    code: 'eye-colour',
    base: ['Patient'],
    type: 'token',
    expression: "Patient.extension.where(url='http://example.org/eye-colour').value.ofType(CodeableConcept)",
  };

  it('adds a custom parameter and overrides an R4 one with the same code', () => {
    const birthdate: SearchParameter = { ...eyeColour, url: 'http://example.org/bd', code: 'birthdate', type: 'date', expression: 'Patient.meta.lastUpdated' };
    const custom = createSearchRegistry({ extra: [eyeColour, birthdate] });
    const concept = { text: 'blue' };
    const patient = { resourceType: 'Patient', birthDate: '1970-01-01', meta: { lastUpdated: '2024-01-01T00:00:00Z' }, extension: [{ url: 'http://example.org/eye-colour', valueCodeableConcept: concept }] };
    assert.deepEqual(custom.get('Patient', 'eye-colour')?.extract(patient), [concept]);
    assert.equal(custom.get('Patient', 'birthdate')?.url, 'http://example.org/bd');
    assert.deepEqual(custom.get('Patient', 'birthdate')?.extract(patient), ['2024-01-01T00:00:00Z']);
    assert.equal(registry.get('Patient', 'eye-colour'), undefined);
  });

  it('a custom parameter on Resource applies to every type', () => {
    const custom = createSearchRegistry({ extra: [{ ...eyeColour, code: 'lang', base: ['Resource'], expression: 'Resource.language' }] });
    assert.deepEqual(custom.get('Observation', 'lang')?.extract({ resourceType: 'Observation', language: 'en' }), ['en']);
  });

  it('rejects invalid custom parameters at creation', () => {
    assert.throws(() => createSearchRegistry({ extra: [{ ...eyeColour, expression: 'Patient.extension.where(' }] }), /eye-colour/);
    assert.throws(() => createSearchRegistry({ extra: [{ ...eyeColour, base: ['NotAType'] as SearchParameter['base'] }] }), /base/);
    assert.throws(() => createSearchRegistry({ extra: [{ ...eyeColour, base: [] }] }), /base/);
  });
});

describe('compartment parameters', () => {
  it('Patient compartment', () => {
    assert.deepEqual(registry.compartmentParams('Patient', 'Observation'), ['subject', 'performer']);
    assert.ok(registry.compartmentParams('Patient', 'Encounter').includes('patient'));
    assert.deepEqual(registry.compartmentParams('Patient', 'Patient'), ['link']);
  });

  it('other compartments, {def} and unknown names', () => {
    assert.ok(registry.compartmentParams('Encounter', 'Observation').includes('encounter'));
    assert.ok(registry.compartmentParams('Practitioner', 'Encounter').includes('practitioner'));
    assert.ok(registry.compartmentParams('RelatedPerson', 'Observation').includes('performer'));
    assert.ok(registry.compartmentParams('Device', 'Observation').includes('device'));
    assert.deepEqual(registry.compartmentParams('Encounter', 'Encounter'), []); // only `{def}`
    assert.deepEqual(registry.compartmentParams('Nope', 'Observation'), []);
    assert.deepEqual(registry.compartmentParams('Patient', 'Nope'), []);
  });

  it('every compartment parameter is a reference parameter of its type', () => {
    for (const compartment of ['Patient', 'Encounter', 'Practitioner', 'RelatedPerson', 'Device']) {
      for (const type of RESOURCE_TYPES) {
        for (const code of registry.compartmentParams(compartment, type)) {
          assert.equal(registry.get(type, code)?.type, 'reference', `${compartment}: ${type}.${code}`);
        }
      }
    }
  });
});
