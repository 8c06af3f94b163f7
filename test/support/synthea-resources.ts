// Synthea data for the registry property test and bench:extraction: the resources of the first
// N fixture bundles (test/fixtures/synthea), with references rewritten the way transaction
// processing does (FHIR R4 http.html#trules): `urn:uuid:` fullUrls become `Type/id`, conditional
// references `Type?query` become `Type/cond-n`, so that `where(resolve() is Patient)` has
// something to decide on.
import type { JsonObject } from '../../src/core/types.js';
import { readSyntheaFixture, syntheaFixtureFiles } from './fixtures.js';

interface Bundle {
  entry?: { fullUrl?: string; resource?: JsonObject }[];
}

function rewriteReferences(value: unknown, targets: Map<string, string>): void {
  if (Array.isArray(value)) {
    for (const v of value) rewriteReferences(v, targets);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const obj = value as JsonObject;
  if (typeof obj.reference === 'string') {
    const ref = obj.reference;
    const conditional = /^([A-Z][A-Za-z]+)\?/.exec(ref);
    if (targets.has(ref)) obj.reference = targets.get(ref);
    else if (conditional) {
      if (!targets.has(ref)) targets.set(ref, `${conditional[1]}/cond-${targets.size}`);
      obj.reference = targets.get(ref);
    }
  }
  for (const v of Object.values(obj)) rewriteReferences(v, targets);
}

/** Resources of the first `count` bundles (sorted by file name), references rewritten. */
export function loadSyntheaResources(count: number): JsonObject[] {
  const files = syntheaFixtureFiles().slice(0, count);
  const out: JsonObject[] = [];
  for (const file of files) {
    const bundle = readSyntheaFixture<Bundle>(file);
    const resources = (bundle.entry ?? []).flatMap((e) => (e.resource ? [{ fullUrl: e.fullUrl, resource: e.resource }] : []));
    const targets = new Map<string, string>();
    for (const { fullUrl, resource } of resources) {
      if (fullUrl && typeof resource.id === 'string') targets.set(fullUrl, `${resource.resourceType as string}/${resource.id}`);
    }
    for (const { resource } of resources) {
      rewriteReferences(resource, targets);
      out.push(resource);
    }
  }
  return out;
}
