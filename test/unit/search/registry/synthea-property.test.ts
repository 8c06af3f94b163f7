// Property test of the registry's extractors (FHIR R4 searchparameter.html#expression,
// ARCHITECTURE.md "Index extraction cost"): on real Synthea data, for every search parameter
// of every resource, the registry's extractor (plain accessors where compiled) returns exactly
// what fhirpath.js returns for the same per-type expression. Also prints (does not assert)
// the extraction cost per Observation and the share of expressions compiled to accessors.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { SearchParameter } from 'fhir/r4.js';
import type { JsonObject } from '../../../../src/core/types.js';
import { RESOURCE_TYPES } from '../../../../src/core/resource-types.js';
import { compileAccessor, compileFhirpath, type Extractor } from '../../../../src/search/registry/compile.js';
import { createSearchRegistry } from '../../../../src/search/registry/registry.js';
import type { SearchParamDef } from '../../../../src/search/types.js';
import { loadSyntheaResources } from './synthea.js';

const require = createRequire(import.meta.url);
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

/** Mean milliseconds per resource of running `extractors` over `resources`, after a warm-up. */
function msPerResource(resources: readonly JsonObject[], extractors: readonly Extractor[], rounds = 3): number {
  for (const r of resources.slice(0, 50)) for (const x of extractors) x(r);
  const start = performance.now();
  for (let round = 0; round < rounds; round++) for (const r of resources) for (const x of extractors) x(r);
  return (performance.now() - start) / (rounds * resources.length);
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

  it('prints the Observation extraction cost and the compiled share', () => {
    const observations = resources.filter((r) => r.resourceType === 'Observation');
    const defs = [...registry.forType('Observation').values()].filter(evaluated);
    const registryMs = msPerResource(observations, defs.map((d) => d.extract), 20);
    const splitMs = msPerResource(observations, defs.map(referenceFor));
    const bundle = require('hl7.fhir.r4.examples/Bundle-searchParams.json') as { entry: { resource: SearchParameter }[] };
    const urls = new Set(defs.map((d) => d.url));
    const whole = bundle.entry.map((e) => e.resource).filter((sp) => urls.has(sp.url) && sp.expression);
    const wholeMs = msPerResource(observations, whole.map((sp) => compileFhirpath(sp.expression as string)), 1);

    let total = 0;
    let compiled = 0;
    for (const type of RESOURCE_TYPES) {
      for (const def of registry.forType(type).values()) {
        if (!evaluated(def)) continue;
        total++;
        if (compileAccessor(def.expression, type)) compiled++;
      }
    }
    console.log(`      Observation extraction, ${defs.length} parameters, ${observations.length} resources (ms per resource):`);
    console.log(`        registry extractors (compiled accessors): ${registryMs.toFixed(4)}`);
    console.log(`        fhirpath.js, per-type split expressions:  ${splitMs.toFixed(4)}`);
    console.log(`        fhirpath.js, whole R4 expressions:        ${wholeMs.toFixed(4)}`);
    console.log(`      compiled to plain accessors: ${compiled}/${total} per-type expressions (${((100 * compiled) / total).toFixed(1)}%)`);
  });
});
