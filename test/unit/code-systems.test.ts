// Tokens on `code` elements get their binding's system (issue 12; src/search/registry/
// code-systems.ts, params/token.ts): the generated map is current, a parameter gets a system
// only when all its branches name one, and its codes are indexed with and without it, so
// `system|code`, `code` and `|code` all find them and another system does not.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/project-root.js';
import { tokenParam } from '../../src/search/params/token.js';
import { boundCodeSystem } from '../../src/search/registry/code-systems.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import type { SearchIndex } from '../../src/search/types.js';
import { codeSystemsOfPackage, packageDir } from '../../scripts/generate-code-systems.js';

const GENDER = 'http://hl7.org/fhir/administrative-gender';

describe('code systems of code elements (required bindings)', function () {
  this.timeout(30_000);

  it('src/core/generated/code-systems.json is what scripts/generate-code-systems.ts makes of the R4 definitions', () => {
    const committed = JSON.parse(readFileSync(join(projectRoot(), 'src/core/generated/code-systems.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(committed, codeSystemsOfPackage(packageDir()));
    assert.equal(committed['Patient.gender'], GENDER);
    assert.equal(committed['Observation.status'], 'http://hl7.org/fhir/observation-status');
  });

  it('a parameter gets a system only when every branch is a plain path to one system', () => {
    assert.equal(boundCodeSystem('Patient.gender'), GENDER);
    assert.equal(boundCodeSystem('Patient.gender | Practitioner.gender'), GENDER);
    assert.equal(boundCodeSystem('Patient.gender | Observation.status'), undefined, 'two systems');
    assert.equal(boundCodeSystem('Patient.gender | Patient.name'), undefined, 'a branch without one');
    assert.equal(boundCodeSystem('Patient.name'), undefined);
    assert.equal(boundCodeSystem("Patient.telecom.where(system='phone')"), undefined);
    assert.equal(boundCodeSystem(''), undefined);
  });

  it('the registry gives R4 token parameters their system; other types and parameters none', () => {
    const registry = createSearchRegistry();
    assert.equal(registry.forType('Patient').get('gender')?.codeSystem, GENDER);
    assert.equal(registry.forType('Observation').get('status')?.codeSystem, 'http://hl7.org/fhir/observation-status');
    assert.equal(registry.forType('Observation').get('code')?.codeSystem, undefined, 'a CodeableConcept carries its own systems');
    assert.equal(registry.forType('Patient').get('active')?.codeSystem, undefined, 'boolean');
  });

  it('indexes a code with and without its system; searches with the system, the code alone, |code and another system', () => {
    const gender = createSearchRegistry().forType('Patient').get('gender');
    assert.ok(gender);
    const index: SearchIndex = {};
    tokenParam.index(gender, gender.extract({ resourceType: 'Patient', gender: 'male' }), index);
    assert.deepEqual(index.gender, [{ s: null, c: 'male' }, { s: GENDER, c: 'male' }]);
    const found = (raw: string, modifier?: string) => tokenParam.matches(gender, modifier, [tokenParam.parse(gender, modifier, raw)], index);
    assert.equal(found(`${GENDER}|male`), true);
    assert.equal(found('male'), true);
    assert.equal(found('|male'), true);
    assert.equal(found(`${GENDER}|female`), false);
    assert.equal(found('http://example.org/other|male'), false);
    assert.equal(found(`${GENDER}|male`, 'not'), false);
    assert.equal(found(`${GENDER}|female`, 'not'), true);
  });
});
