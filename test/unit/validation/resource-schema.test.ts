// Unit tests for src/fhir/validation/resource-schema.ts (FHIR R4 json.html#schema).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { FhirError } from '../../../src/core/errors.js';
import { loadR4Schema, PARTITIONED_TYPES } from '../../../src/core/resource-types.js';
import { createResourceValidator, prepareR4Schema } from '../../../src/fhir/validation/resource-schema.js';

const require = createRequire(import.meta.url);
const examplesDir = dirname(require.resolve('hl7.fhir.r4.examples/package.json'));
const validator = createResourceValidator();
const validate = (resource: unknown) => validator.validate(resource);

/** The issues as "expression: diagnostics" lines, easy to compare and to read on failure. */
const summary = (issues: OperationOutcomeIssue[]) => issues.map((i) => `${i.expression?.[0] ?? ''}: ${i.diagnostics}`);
const observation = { resourceType: 'Observation', status: 'final', code: { text: 'weight' } };

describe('resource schema validation', () => {
  describe('official R4 examples', () => {
    for (const type of PARTITIONED_TYPES) {
      it(`accepts every ${type} example of the spec`, () => {
        const files = readdirSync(examplesDir).filter((f) => f.startsWith(`${type}-`) && f.endsWith('.json'));
        let checked = 0;
        const failures: string[] = [];
        for (const file of files) {
          const resource = JSON.parse(readFileSync(join(examplesDir, file), 'utf8'));
          if (resource.resourceType !== type) continue; // e.g. Patient-*.json holding a Bundle
          checked++;
          failures.push(...summary(validate(resource)).map((s) => `${file} ${s}`));
        }
        assert.ok(checked >= 3, `only ${checked} ${type} examples found`);
        assert.deepEqual(failures, []);
      });
    }
  });

  it('accepts a minimal valid resource', () => {
    assert.deepEqual(validate({ resourceType: 'Patient' }), []);
    assert.deepEqual(validate(observation), []);
  });

  it('reports an unknown element at the element itself', () => {
    const issues = validate({ resourceType: 'Patient', foo: 1 });
    assert.deepEqual(issues, [
      { severity: 'error', code: 'structure', diagnostics: "Unknown element 'foo'", expression: ['Patient.foo'] },
    ]);
  });

  it('reports a wrong JSON type at the element', () => {
    assert.deepEqual(summary(validate({ resourceType: 'Patient', birthDate: 5 })), [
      'Patient.birthDate: Expected a string but found a number',
    ]);
  });

  it('reports a value that fails the primitive pattern, naming the primitive', () => {
    const issues = validate({ resourceType: 'Patient', birthDate: '2020-13-45' });
    assert.equal(issues.length, 1);
    assert.equal(issues[0].code, 'value');
    assert.deepEqual(issues[0].expression, ['Patient.birthDate']);
    assert.equal(issues[0].diagnostics, "Value '2020-13-45' does not match the pattern for date");
  });

  it('names the primitive of an inline choice type (deceasedDateTime → dateTime)', () => {
    assert.deepEqual(summary(validate({ resourceType: 'Patient', deceasedDateTime: '2020-01-01T10:00' })), [
      "Patient.deceasedDateTime: Value '2020-01-01T10:00' does not match the pattern for dateTime",
    ]);
  });

  it('gives nested paths with array indexes', () => {
    assert.deepEqual(summary(validate({ resourceType: 'Patient', name: [{ given: [7, 'ok'] }] })), [
      'Patient.name[0].given[0]: Expected a string but found a number',
    ]);
    assert.deepEqual(summary(validate({ resourceType: 'Patient', name: [{}, { given: 'Jo' }] })), [
      'Patient.name[1].given: Expected an array but found a string',
    ]);
  });

  it('rejects a non-object where a complex type is expected (patched type: object)', () => {
    assert.deepEqual(summary(validate({ resourceType: 'Patient', name: ['Jo'], meta: 5 })), [
      'Patient.meta: Expected an object but found a number',
      'Patient.name[0]: Expected an object but found a string',
    ]);
  });

  it('enforces integer kinds (patched: patterns never apply to numbers)', () => {
    assert.deepEqual(summary(validate({ resourceType: 'Patient', multipleBirthInteger: 1.5 })), [
      'Patient.multipleBirthInteger: Expected an integer but found a number',
    ]);
    const timing = { repeat: { frequency: 0 } }; // positiveInt
    assert.deepEqual(summary(validate({ ...observation, effectiveTiming: timing })), [
      "Observation.effectiveTiming.repeat.frequency: Value '0' must be >= 1",
    ]);
  });

  it('reports each missing required element, primitives included', () => {
    const issues = validate({ resourceType: 'Observation' });
    assert.deepEqual(summary(issues).sort(), [
      "Observation.code: Missing required element 'code'",
      "Observation.status: Missing required element 'status'",
    ]);
    assert.ok(issues.every((i) => i.code === 'required'));
  });

  it('accepts a required primitive given only as _status with an extension', () => {
    const absent = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };
    assert.deepEqual(validate({ resourceType: 'Observation', _status: absent, code: { text: 'x' } }), []);
  });

  it('requires mandatory choice elements and data type elements', () => {
    const request = { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/1' } };
    assert.deepEqual(summary(validate(request)), ["MedicationRequest.medication: Missing required element 'medication[x]'"]);
    assert.deepEqual(summary(validate({ ...observation, extension: [{ valueString: 'x' }] })), [
      "Observation.extension[0].url: Missing required element 'url'",
    ]);
  });

  it('reports two problems as exactly two issues', () => {
    const issues = validate({ resourceType: 'Patient', gender: 'robot', active: 'yes' });
    assert.deepEqual(summary(issues).sort(), [
      'Patient.active: Expected a boolean but found a string',
      "Patient.gender: Value 'robot' is not one of the allowed codes: male, female, other, unknown",
    ]);
  });

  it('reports an unknown resourceType once, at resourceType', () => {
    assert.deepEqual(validate({ resourceType: 'Patientx', foo: 1 }), [
      {
        severity: 'error',
        code: 'value',
        diagnostics: "Unknown resource type 'Patientx': not a FHIR R4 resource type",
        expression: ['resourceType'],
      },
    ]);
    assert.deepEqual(summary(validate({ resourceType: 5 })), ['resourceType: Expected resourceType to be a string but found a number']);
  });

  it('reports a missing resourceType once', () => {
    assert.deepEqual(summary(validate({ name: [] })), ["resourceType: Missing required element 'resourceType'"]);
  });

  it('reports a non-object body as one issue', () => {
    for (const body of [[{ resourceType: 'Patient' }], 'Patient', null, 3]) {
      const issues = validate(body);
      assert.equal(issues.length, 1);
      assert.equal(issues[0].code, 'structure');
      assert.match(issues[0].diagnostics!, /must be a JSON object/);
    }
  });

  it('validates contained and bundled resources by their own type, with full paths', () => {
    const patient = { resourceType: 'Patient', contained: [{ resourceType: 'Observation', status: 'done', code: {} }, { id: 'x' }] };
    assert.deepEqual(summary(validate(patient)), [
      "Patient.contained[0].status: Value 'done' is not one of the allowed codes: registered, preliminary, final, amended, corrected, cancelled, entered-in-error, unknown",
      "Patient.contained[1].resourceType: Missing required element 'resourceType'",
    ]);
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: observation }, { resource: { resourceType: 'Patient', bar: 1 } }] };
    assert.deepEqual(summary(validate(bundle)), ["Bundle.entry[1].resource.bar: Unknown element 'bar'"]);
  });

  it('accepts fhirVersion 4.0.1 (patched enum) and still rejects unknown versions', () => {
    const cs = { resourceType: 'CapabilityStatement', status: 'active', date: '2024-01-01', kind: 'instance', format: ['json'] };
    assert.deepEqual(validate({ ...cs, fhirVersion: '4.0.1' }), []);
    assert.deepEqual(summary(validate({ ...cs, fhirVersion: '9.9.9' })).map((s) => s.split(':')[0]), ['CapabilityStatement.fhirVersion']);
  });

  it('accepts extensions on canonical elements (_profile) and non-breaking spaces in strings', () => {
    const meta = { profile: ['http://example.org/p'], _profile: [{ extension: [{ url: 'http://x', valueString: 'y' }] }] };
    assert.deepEqual(validate({ ...observation, meta, code: { text: 'a\u00a0b' } }), []);
    assert.deepEqual(summary(validate({ ...observation, code: { coding: [{ code: 'a  b' }] } })), [
      "Observation.code.coding[0].code: Value 'a  b' does not match the pattern for code",
    ]);
  });

  it('checks base64Binary patterns in linear time (no ReDoS)', () => {
    const started = performance.now();
    const issues = validate({ ...observation, extension: [{ url: 'http://x', valueBase64Binary: `${'AAAA '.repeat(60)}!` }] });
    assert.ok(performance.now() - started < 500);
    assert.match(issues[0].diagnostics!, /does not match the pattern for base64Binary/);
  });

  it('caps the number of issues and says how many were left out', () => {
    const resource: Record<string, unknown> = { resourceType: 'Patient' };
    for (let i = 0; i < 150; i++) resource[`x${i}`] = i;
    const issues = validate(resource);
    assert.equal(issues.length, 101);
    assert.equal(issues[100].diagnostics, '50 further problems not listed');
  });

  it('assertValid throws FhirError 400 with one issue per problem, and passes valid resources', () => {
    assert.doesNotThrow(() => validator.assertValid(observation));
    try {
      validator.assertValid({ resourceType: 'Observation', foo: true });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof FhirError);
      assert.equal(err.status, 400);
      assert.deepEqual(summary(err.outcome.issue).sort(), [
        "Observation.code: Missing required element 'code'",
        "Observation.foo: Unknown element 'foo'",
        "Observation.status: Missing required element 'status'",
      ]);
    }
  });

  it('patches a clone and never mutates the cached schema', () => {
    const patched = prepareR4Schema() as { $id?: string; definitions: Record<string, { oneOf?: unknown }> };
    assert.equal(patched.$id, 'http://hl7.org/fhir/json-schema/4.0');
    const cached = loadR4Schema() as unknown as { id?: string; $id?: string; definitions: Record<string, any> };
    assert.equal(cached.id, 'http://hl7.org/fhir/json-schema/4.0');
    assert.equal(cached.$id, undefined);
    assert.ok(Array.isArray(cached.definitions.ResourceList.oneOf));
    assert.equal(cached.definitions.CapabilityStatement.properties.fhirVersion.enum.includes('4.0.1'), false);
    assert.equal(patched.definitions.ResourceList.oneOf, undefined);
  });
});
