// Binding checks (src/terminology/bindings.ts, issue 12): the generated map of bound coded
// elements is current, values are found with their element paths, and what cannot be judged (a
// ValueSet unknown here) passes a required binding, reported only when warnings are asked for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindingsOfPackage } from '../../scripts/generate-bindings.js';
import { packageDir } from '../../scripts/generate-code-systems.js';
import { projectRoot } from '../../src/core/project-root.js';
import { emptyTerminologyStore } from '../../src/storage/memory/memory-terminology-store.js';
import { boundElements, checkBindings, valuesAt } from '../../src/terminology/bindings.js';
import type { TerminologyContext } from '../../src/terminology/definitions.js';

describe('binding checks', function () {
  this.timeout(30_000);

  it('src/core/generated/bindings.json is what scripts/generate-bindings.ts makes of the R4 definitions', () => {
    const committed = JSON.parse(readFileSync(join(projectRoot(), 'src/core/generated/bindings.json'), 'utf8')) as unknown;
    assert.deepEqual(committed, bindingsOfPackage(packageDir()));
    assert.deepEqual(
      boundElements('Condition').filter((b) => b.strength === 'required').map((b) => b.path),
      ['clinicalStatus', 'verificationStatus'],
    );
    assert.ok(boundElements('ActivityDefinition').some((b) => b.path === 'subjectCodeableConcept'), 'choice elements by their typed name');
    assert.deepEqual(boundElements('Patient').filter((b) => b.strength === 'required'), [], 'code elements are left to the JSON Schema');
  });

  it('finds values along a path with their element paths', () => {
    const resource = { a: [{ b: { x: 1 } }, { c: 2 }, { b: [{ y: 1 }, 'text'] }] };
    assert.deepEqual(
      valuesAt(resource, 'T', 'a.b').map((v) => v.expression),
      ['T.a[0].b', 'T.a[2].b[0]'],
    );
    assert.deepEqual(valuesAt(resource, 'T', 'missing.b'), []);
  });

  it('lets through what it cannot judge (a ValueSet not known here), warning only when asked', async () => {
    const ctx: TerminologyContext = { store: emptyTerminologyStore, definitions: { find: async () => undefined } };
    const resource = { resourceType: 'Condition', clinicalStatus: { coding: [{ system: 'urn:x', code: 'nonsense' }] } };
    assert.deepEqual(await checkBindings(ctx, 't', 'Condition', resource, { extensible: false, unknownSystems: 'fail' }), []);
    const reported = await checkBindings(ctx, 't', 'Condition', resource, { extensible: true, unknownSystems: 'ignore' });
    assert.equal(reported.length, 1);
    assert.equal(reported[0].severity, 'warning');
    assert.match(reported[0].diagnostics, /not checked: the ValueSet http:\/\/hl7\.org\/fhir\/ValueSet\/condition-clinical\|4\.0\.1 is not known/);
    assert.deepEqual(await checkBindings(ctx, 't', 'Patient', { resourceType: 'Patient', gender: 'x' }, { extensible: true, unknownSystems: 'fail' }), []);
  });
});
