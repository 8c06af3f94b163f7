// Property test of the registry's extractors (FHIR R4 searchparameter.html#expression,
// ARCHITECTURE.md "Index extraction cost"): on real Synthea data, for every search parameter
// of every resource, the registry's extractor (plain accessors where compiled) returns exactly
// what fhirpath.js returns for the same per-type expression. The extraction cost is measured by
// `npm run bench:extraction`.
import assert from 'node:assert/strict';
import { compileFhirpath, type Extractor } from '../../../../src/search/registry/compile.js';
import { createSearchRegistry } from '../../../../src/search/registry/registry.js';
import type { SearchParamDef } from '../../../../src/search/types.js';
import { loadSyntheaResources } from '../../../support/synthea-resources.js';

const registry = createSearchRegistry();
const EXERCISED = [
  'Observation.patient', // where(resolve() is Patient)
  'Observation.value-quantity', // as Quantity on a choice
  'Observation.component-value-quantity', // as over several components
  'Observation.value-concept',
  'Observation.combo-code', // union
  'Observation.date', // choice without cast
  'Observation.code-value-quantity', // composite root
  'Encounter.patient',
  'Encounter.practitioner', // participant.individual.where(resolve() is Practitioner)
  'Patient.name',
  'Patient.phone', // where(system='phone')
  'Patient.deceased', // fhirpath.js fallback
  'MedicationRequest.code', // medication as CodeableConcept
  'Claim.patient',
];
const evaluated = (def: SearchParamDef) => def.expression !== '' && def.type !== 'special';

/** fhirpath.js reference extractors, one per (type, code), compiled once. */
const references = new Map<string, Extractor>();
function referenceFor(def: SearchParamDef): Extractor {
  const key = `${def.resourceType}.${def.code}`;
  let ref = references.get(key);
  if (!ref) references.set(key, (ref = compileFhirpath(def.expression)));
  return ref;
}

describe('search registry: compiled extractors agree with fhirpath.js on Synthea', function () {
  this.timeout(60_000);
  const resources = loadSyntheaResources(8);

  it('loads a meaningful sample', () => {
    assert.ok(resources.length > 1000, `only ${resources.length} resources`);
    assert.ok(resources.filter((r) => r.resourceType === 'Observation').length > 100);
  });

  it('every parameter of every resource: extract(resource) deep-equals fhirpath.js', () => {
    let checks = 0;
    let nonEmpty = 0;
    const failures: string[] = [];
    const found = new Set<string>();
    for (const resource of resources) {
      for (const def of registry.forType(resource.resourceType as string).values()) {
        if (!evaluated(def)) continue;
        const actual = def.extract(resource);
        const expected = referenceFor(def)(resource);
        checks++;
        if (actual.length > 0) {
          nonEmpty++;
          found.add(`${def.resourceType}.${def.code}`);
        }
        try {
          assert.deepEqual(actual, expected);
        } catch {
          if (failures.length < 10) failures.push(`${def.resourceType}/${resource.id as string} ${def.code}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
        }
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(nonEmpty > 5000, `only ${nonEmpty} non-empty extractions`);
    // The interesting forms really were exercised, not just compared empty.
    for (const key of EXERCISED) assert.ok(found.has(key), `${key} never extracted anything`);
    console.log(`      ${checks} (resource, parameter) pairs compared, ${nonEmpty} non-empty`);
  });
});
