// The terminology operations' registry entries (src/fhir/operations/code-system-*.ts,
// validate-code.ts, concept-map-translate.ts): registered once each, at type and instance level on
// their types, read-only (GET allowed), with OperationDefinitions valid against the R4 JSON Schema.
import assert from 'node:assert/strict';
import { BUILT_IN_OPERATIONS } from '../../src/fhir/operations/index.js';
import { appliesTo } from '../../src/fhir/operations/registry.js';
import { createResourceValidator } from '../../src/fhir/validation/resource-schema.js';

const EXPECTED: [string, string[]][] = [
  ['lookup', ['CodeSystem']],
  ['subsumes', ['CodeSystem']],
  ['validate-code', ['CodeSystem', 'ValueSet']],
  ['translate', ['ConceptMap']],
];

describe('terminology operation entries', () => {
  const validator = createResourceValidator();
  for (const [name, types] of EXPECTED) {
    it(`$${name}: type and instance level on ${types.join(', ')}, read-only, a valid definition`, () => {
      const entry = BUILT_IN_OPERATIONS.get(name);
      assert.ok(entry, `$${name} is registered`);
      assert.equal(entry.readOnly, true);
      for (const type of types) {
        assert.ok(appliesTo(entry, 'type', type) && appliesTo(entry, 'instance', type), `${type}/$${name}`);
      }
      assert.equal(appliesTo(entry, 'system'), false);
      assert.equal(appliesTo(entry, 'type', 'Patient'), false);
      assert.deepEqual(entry.definition.resource, types);
      assert.deepEqual(validator.validate(JSON.parse(JSON.stringify(entry.definition))), []);
    });
  }
});
