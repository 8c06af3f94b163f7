// Unit tests for src/search/registry/compile.ts, accessor.ts, fhirpath-fallback.ts and
// reference-target.ts (FHIR R4 searchparameter.html#expression, fhirpath.html,
// references.html): compiled accessors return what fhirpath.js returns.
import assert from 'node:assert/strict';
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import type { JsonObject } from '../../../../src/core/types.js';
import { compileAccessor, compileExtractor, compileFhirpath, normalizeCasts } from '../../../../src/search/registry/compile.js';
import { referenceTargetType } from '../../../../src/search/registry/reference-target.js';

const patient: JsonObject = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { lastUpdated: '2024-01-02T03:04:05Z', tag: [{ system: 'urn:t', code: 'x' }] },
  name: [
    { family: 'Chalmers', given: ['Peter', null, 'James'], _given: [null, { extension: [{ url: 'u', valueString: 'x' }] }, null] },
    { family: 'Windsor', given: ['Jim'] },
  ],
  _gender: { extension: [{ url: 'u', valueCode: 'unknown' }] },
  telecom: [
    { system: 'phone', value: '555' },
    { system: 'email', value: 'a@b.c' },
    { system: 'phone', value: '777' },
  ],
  birthDate: '1974-12-25',
  deceasedBoolean: false,
};

const observation: JsonObject = {
  resourceType: 'Observation',
  id: 'o1',
  contained: [{ resourceType: 'Patient', id: 'c1' }],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  subject: { reference: 'Patient/p1' },
  performer: [
    { reference: 'Practitioner/d1' },
    { reference: 'https://example.org/fhir/Patient/p2/_history/3' },
    { type: 'Patient', identifier: { value: 'mrn' } },
    { reference: '#c1' },
    { reference: 'urn:uuid:0f6c5f5e-3a53-4b0c-9f5e-1f2f3a4b5c6d' },
    { reference: 'Patient?identifier=x' },
  ],
  effectivePeriod: { start: '2024-01-01' },
  valueQuantity: { value: 1.5, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
  component: [
    { code: { text: 'systolic' }, valueQuantity: { value: 120, unit: 'mm[Hg]' } },
    { code: { text: 'diastolic' }, valueQuantity: { value: 80.25, unit: 'mm[Hg]' } },
    { code: { text: 'note' }, valueString: 'sitting' },
  ],
};

/** Compiles as an accessor (asserting it compiles) and checks it against fhirpath.js. */
function accessorResult(expression: string, resource: JsonObject): unknown[] {
  const type = resource.resourceType as string;
  const accessor = compileAccessor(expression, type);
  assert.ok(accessor, `${expression} should compile to a plain accessor`);
  const result = accessor(resource);
  assert.deepEqual(result, compileFhirpath(expression)(resource), `accessor and fhirpath.js differ for ${expression}`);
  return result;
}

describe('compiled accessors', () => {
  it("Patient deceased (P.exists() and P != false) compiles and agrees with fhirpath.js", () => {
    const expression = 'Patient.deceased.exists() and Patient.deceased != false';
    const cases: [JsonObject, boolean][] = [
      [{ resourceType: 'Patient' }, false],
      [{ resourceType: 'Patient', deceasedBoolean: false }, false],
      [{ resourceType: 'Patient', deceasedBoolean: true }, true],
      [{ resourceType: 'Patient', deceasedDateTime: '2020-02-03T04:05:06Z' }, true],
    ];
    for (const [resource, deceased] of cases) assert.deepEqual(accessorResult(expression, resource), [deceased], JSON.stringify(resource));
  });

  it('dotted paths flatten arrays and skip nulls and extension-only primitives', () => {
    assert.deepEqual(accessorResult('Patient.name.family', patient), ['Chalmers', 'Windsor']);
    assert.deepEqual(accessorResult('Patient.name.given', patient), ['Peter', 'James', 'Jim']);
    assert.deepEqual(accessorResult('Patient.gender', patient), []);
    assert.deepEqual(accessorResult('Patient.birthDate', patient), ['1974-12-25']);
    assert.deepEqual(accessorResult('Patient.meta.tag', patient), [{ system: 'urn:t', code: 'x' }]);
    assert.deepEqual(accessorResult('Patient.id', patient), ['p1']);
  });

  it('returns nothing for another resource type', () => {
    const accessor = compileAccessor('Observation.code', 'Observation');
    assert.deepEqual(accessor?.(patient), []);
    assert.deepEqual(compileFhirpath('Observation.code')(patient), []);
  });

  it('a choice element reads whichever value[x] is present', () => {
    assert.deepEqual(accessorResult('Observation.effective', observation), [{ start: '2024-01-01' }]);
    assert.deepEqual(accessorResult('Patient.deceased', patient), [false]);
  });

  it('as(Quantity), (x as Quantity) and ofType(Quantity) read only valueQuantity', () => {
    for (const e of ['Observation.value.as(Quantity)', '(Observation.value as Quantity)', 'Observation.value.ofType(Quantity)']) {
      assert.deepEqual(accessorResult(e, observation), [observation.valueQuantity], e);
    }
    assert.deepEqual(accessorResult('Observation.value as CodeableConcept', observation), []);
    assert.deepEqual(accessorResult('Observation.value.as(Quantity).value', observation), [1.5]);
  });

  it('casts over several items filter like ofType (fhirpath.js throws on `as` there)', () => {
    assert.throws(() => fhirpath.evaluate(observation, 'Observation.component.value as Quantity', undefined, r4model), /singleton/);
    assert.equal(normalizeCasts('(Observation.component.value as Quantity)'), 'Observation.component.value.ofType(Quantity)');
    assert.deepEqual(accessorResult('Observation.component.value as Quantity', observation), [
      { value: 120, unit: 'mm[Hg]' },
      { value: 80.25, unit: 'mm[Hg]' },
    ]);
  });

  it('a cast to a supertype takes subtypes too (Age is a Quantity)', () => {
    const condition = { resourceType: 'Condition', onsetAge: { value: 40, unit: 'a' } };
    assert.deepEqual(accessorResult('Condition.onset.as(Quantity)', condition), [{ value: 40, unit: 'a' }]);
    assert.deepEqual(accessorResult('Condition.onset.as(Age)', condition), [{ value: 40, unit: 'a' }]);
    assert.deepEqual(accessorResult('Condition.onset.as(Range)', condition), []);
  });

  it('navigates after a cast in parentheses', () => {
    const o = { resourceType: 'Observation', valueCodeableConcept: { text: 'positive' } };
    assert.deepEqual(accessorResult('(Observation.value as CodeableConcept).text', o), ['positive']);
  });

  it('where(resolve() is Patient) keeps references to a Patient', () => {
    assert.deepEqual(accessorResult('Observation.subject.where(resolve() is Patient)', observation), [{ reference: 'Patient/p1' }]);
    assert.deepEqual(accessorResult('Observation.performer.where(resolve() is Patient)', observation), [
      { reference: 'https://example.org/fhir/Patient/p2/_history/3' },
      { type: 'Patient', identifier: { value: 'mrn' } },
      { reference: '#c1' },
    ]);
    assert.deepEqual(accessorResult('Observation.performer.where(resolve() is Practitioner)', observation), [{ reference: 'Practitioner/d1' }]);
  });

  it("where(system='phone') filters on a primitive member", () => {
    assert.deepEqual(accessorResult("Patient.telecom.where(system='phone')", patient), [
      { system: 'phone', value: '555' },
      { system: 'phone', value: '777' },
    ]);
  });

  it('indexers and navigation into a resource-typed element', () => {
    const bundle = { resourceType: 'Bundle', type: 'document', entry: [{ resource: { resourceType: 'Composition', id: 'c' } }, { resource: patient }] };
    assert.deepEqual(accessorResult('Bundle.entry[0].resource', bundle), [{ resourceType: 'Composition', id: 'c' }]);
  });

  it('unions concatenate branches and remove equal values', () => {
    assert.deepEqual(accessorResult('Observation.code | Observation.component.code', observation), [
      observation.code,
      { text: 'systolic' },
      { text: 'diastolic' },
      { text: 'note' },
    ]);
    assert.deepEqual(accessorResult('Patient.name.family | Patient.name.family', patient), ['Chalmers', 'Windsor']);
    const telecom = patient.telecom as unknown[];
    assert.deepEqual(accessorResult("Patient.telecom.where(system='phone') | Patient.telecom", patient), [telecom[0], telecom[2], telecom[1]]);
  });

  it('keeps UCUM-equivalent quantities that fhirpath.js would merge in a union', () => {
    const o = { resourceType: 'Observation', valueQuantity: { value: 1000, system: 'http://unitsofmeasure.org', code: 'mg' }, component: [{ valueQuantity: { value: 1, system: 'http://unitsofmeasure.org', code: 'g' } }] };
    const expression = 'Observation.value as Quantity | Observation.component.value as Quantity';
    assert.equal(compileExtractor(expression, 'Observation')(o).length, 2); // both index entries
    assert.equal(compileFhirpath(expression)(o).length, 1); // documented deviation
  });
});

describe('compileExtractor', () => {
  it('falls back to fhirpath.js for other forms', () => {
    const expression = 'Patient.name.given.count() > 2';
    assert.equal(compileAccessor(expression, 'Patient'), undefined);
    assert.deepEqual(compileExtractor(expression, 'Patient')(patient), [true]);
    assert.deepEqual(compileExtractor(expression, 'Patient')({ resourceType: 'Patient', name: [{ given: ['A'] }] }), [false]);
  });

  it('evaluates resolve() without fetching in the fallback too', () => {
    const extract = compileExtractor('Observation.performer.where(resolve() is Patient).count()', 'Observation');
    assert.deepEqual(extract(observation), [3]);
  });

  it('an evaluation error yields [] and a syntax error throws at compile time', () => {
    const single = compileExtractor('Patient.name.single()', 'Patient');
    assert.deepEqual(single(patient), []);
    assert.deepEqual(single({ resourceType: 'Patient', name: [{ family: 'X' }] }), [{ family: 'X' }]);
    assert.throws(() => compileExtractor('Patient.name.where(', 'Patient'));
  });

  it('keeps only the branches of the type and returns [] when none applies', () => {
    assert.deepEqual(compileExtractor('Group.name | Patient.name.family', 'Patient')(patient), ['Chalmers', 'Windsor']);
    assert.deepEqual(compileExtractor('Group.name', 'Patient')(patient), []);
  });

  it('leaves unknown elements to fhirpath.js', () => {
    assert.equal(compileAccessor('Patient.notAnElement', 'Patient'), undefined);
    assert.deepEqual(compileExtractor('Patient.notAnElement', 'Patient')({ resourceType: 'Patient', notAnElement: 'x' }), ['x']);
  });
});

describe('referenceTargetType', () => {
  it('reads the type from relative, absolute and versioned references, Reference.type and contained resources', () => {
    assert.equal(referenceTargetType({ reference: 'Patient/123' }), 'Patient');
    assert.equal(referenceTargetType({ reference: 'http://x/fhir/Encounter/9/_history/2' }), 'Encounter');
    assert.equal(referenceTargetType({ type: 'Group' }), 'Group');
    assert.equal(referenceTargetType({ reference: '#c1' }, observation), 'Patient');
    assert.equal(referenceTargetType('Device/d'), 'Device');
  });

  it('does not guess for urn:uuid, conditional, unknown types or missing contained resources', () => {
    assert.equal(referenceTargetType({ reference: 'urn:uuid:0f6c5f5e-3a53-4b0c-9f5e-1f2f3a4b5c6d' }), undefined);
    assert.equal(referenceTargetType({ reference: 'Patient?identifier=x' }), undefined);
    assert.equal(referenceTargetType({ reference: 'Nope/1' }), undefined);
    assert.equal(referenceTargetType({ reference: '#nope' }, observation), undefined);
    assert.equal(referenceTargetType({ type: 'HumanName' }), undefined);
  });
});
