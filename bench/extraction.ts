// npm run bench:extraction — index extraction cost (ARCHITECTURE.md "Index extraction cost").
// On the Synthea fixtures' Observations (the sample test/unit/search/registry/synthea-property
// checks for correctness), prints the milliseconds per resource of the registry's extractors
// (plain accessors where compiled) against fhirpath.js on the per-type split expressions and on
// the whole R4 expressions, the share of per-type expressions compiled to accessors, and the whole
// indexer (extraction and index entries, UCUM canonical forms included) per Observation.
// In-process, no database. BENCH_BUNDLES: fixture bundles to read (default 8).
import { createRequire } from 'node:module';
import type { SearchParameter } from 'fhir/r4.js';
import type { JsonObject } from '../src/core/types.js';
import { RESOURCE_TYPES } from '../src/core/resource-types.js';
import { compileAccessor, compileFhirpath, type Extractor } from '../src/search/registry/compile.js';
import { createSearchRegistry } from '../src/search/registry/registry.js';
import { createIndexer } from '../src/search/indexer.js';
import type { SearchParamDef } from '../src/search/types.js';
import { loadSyntheaResources } from '../test/support/synthea-resources.js';

const require = createRequire(import.meta.url);
const registry = createSearchRegistry();
const evaluated = (def: SearchParamDef) => def.expression !== '' && def.type !== 'special';

/** Mean milliseconds per resource of running `extractors` over `resources`, after a warm-up. */
function msPerResource(resources: readonly JsonObject[], extractors: readonly Extractor[], rounds = 3): number {
  for (const r of resources.slice(0, 50)) for (const x of extractors) x(r);
  const start = performance.now();
  for (let round = 0; round < rounds; round++) for (const r of resources) for (const x of extractors) x(r);
  return (performance.now() - start) / (rounds * resources.length);
}

function main(): void {
  const resources = loadSyntheaResources(Number(process.env.BENCH_BUNDLES ?? 8));
  const observations = resources.filter((r) => r.resourceType === 'Observation');
  const defs = [...registry.forType('Observation').values()].filter(evaluated);
  const registryMs = msPerResource(observations, defs.map((d) => d.extract), 20);
  const splitMs = msPerResource(observations, defs.map((d) => compileFhirpath(d.expression)));
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
  console.log(`Observation extraction, ${defs.length} parameters, ${observations.length} resources (ms per resource):`);
  console.log(`  registry extractors (compiled accessors): ${registryMs.toFixed(4)}`);
  console.log(`  fhirpath.js, per-type split expressions:  ${splitMs.toFixed(4)}`);
  console.log(`  fhirpath.js, whole R4 expressions:        ${wholeMs.toFixed(4)}`);
  console.log(`compiled to plain accessors: ${compiled}/${total} per-type expressions (${((100 * compiled) / total).toFixed(1)}%)`);
  const indexer = createIndexer(registry);
  const rounds = 20;
  for (const observation of observations) indexer(observation); // warm up
  const start = performance.now();
  for (let round = 0; round < rounds; round++) for (const observation of observations) indexer(observation);
  const quantities = observations.filter((o) => 'valueQuantity' in o).length;
  console.log(`whole indexer (extraction and entries): ${((performance.now() - start) / (rounds * observations.length)).toFixed(4)} ms per Observation (${quantities} of ${observations.length} with a valueQuantity)`);
}

main();
