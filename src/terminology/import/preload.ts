// The preload (docs/terminology-import.md, "Preload"): every CodeSystem, ValueSet and ConceptMap
// of the FHIR R4 specification (npm hl7.fhir.r4.examples 4.0.1) and of HL7 Terminology (npm
// hl7.terminology.r4) into the shared tables, R4 first. Complete CodeSystems load their concepts
// (and closure); every definition is stored for lookup by canonical url. One transaction per
// package, written in batches (shared-terminology-bulk.ts), ending with a marker version
// (urn:hearth:preload:<package>) so a later run costs one query per package. Broken resources are
// counted and skipped; they never fail the preload.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BulkSharedTerminology, BulkSharedTerminologyWriter, CodeSystemLoad, DefinitionLoad } from '../../storage/shared-terminology-bulk.js';
import { versionKey } from '../../storage/shared-terminology-bulk.js';
import type { JsonObject } from '../../core/types.js';
import { codeSystemContent } from '../code-system-content.js';
import { fhirResources } from './fhir-files.js';

/** The packages, in load order: where two define the same url and version, the later's definition is kept. */
export const PRELOAD_PACKAGES = ['hl7.fhir.r4.examples', 'hl7.terminology.r4'] as const;

/**
 * Bumped when the preload stores something differently: a database preloaded at an earlier
 * revision loads the package again, replacing the package's code system versions.
 * 2: is-a edges from properties declared with the parent/child URIs (THO's `subsumedBy`).
 */
const PRELOAD_REVISION = '2';

/** Resources read before their batch is written. */
const CHUNK = 400;

const TYPES = new Set(['CodeSystem', 'ValueSet', 'ConceptMap']);

export interface PackagePreload {
  name: string;
  version: string;
  status: 'loaded' | 'skipped';
  /** Code systems whose concepts were loaded (those already loaded are not counted). */
  codeSystems: number;
  concepts: number;
  /** CodeSystem, ValueSet and ConceptMap definitions stored. */
  definitions: number;
  /** Resources skipped as broken (not JSON, no url, a code defined twice, ...). */
  broken: number;
  seconds: number;
}

const markerUrl = (name: string) => `urn:hearth:preload:${name}`;

function packageOf(name: string): { dir: string; version: string } {
  const manifest = createRequire(import.meta.url).resolve(`${name}/package.json`);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return { dir: dirname(manifest), version };
}

/** Writes one chunk of resources: new complete code systems with concepts, every definition. */
async function writeChunk(writer: BulkSharedTerminologyWriter, resources: readonly JsonObject[], source: string, loadedBy: string, replace: boolean, summary: PackagePreload): Promise<void> {
  const loads: CodeSystemLoad[] = [];
  const definitions: DefinitionLoad[] = [];
  for (const resource of resources) {
    const type = resource.resourceType as DefinitionLoad['resourceType'];
    if (!TYPES.has(type) || typeof resource.url !== 'string' || resource.url === '') {
      summary.broken++;
      continue;
    }
    if (type === 'CodeSystem' && (resource.content === 'complete' || resource.content === undefined)) {
      try {
        loads.push(codeSystemContent(resource, loadedBy));
      } catch {
        summary.broken++;
        continue;
      }
    }
    definitions.push({ resourceType: type, resource, source });
  }
  if (replace) await writer.dropCodeSystems(loads.map((l) => l.header));
  const loaded = await writer.loadedCodeSystems(loads.map((l) => l.header));
  const fresh = new Map<string, CodeSystemLoad>();
  for (const load of loads) {
    const key = versionKey(load.header.url, load.header.version);
    if (!loaded.has(key) && !fresh.has(key)) fresh.set(key, load);
  }
  const done = await writer.loadCodeSystems([...fresh.values()]);
  await writer.putResources(definitions);
  summary.codeSystems += fresh.size;
  summary.concepts += done.concepts;
  summary.definitions += definitions.length;
}

/** Loads one package unless its marker says it is loaded. */
async function preloadPackage(shared: BulkSharedTerminology, name: string): Promise<PackagePreload> {
  const started = Date.now();
  const { dir, version } = packageOf(name);
  const marker = { url: markerUrl(name), version: `${version}#${PRELOAD_REVISION}` };
  const skipped: PackagePreload = { name, version, status: 'skipped', codeSystems: 0, concepts: 0, definitions: 0, broken: 0, seconds: 0 };
  const done = () => shared.write((w) => w.hasCodeSystem(marker.url, marker.version));
  const elapsed = () => (Date.now() - started) / 1000;
  if (await done()) return { ...skipped, seconds: elapsed() };
  try {
    return await shared.write(async (writer) => {
      const summary: PackagePreload = { ...skipped, status: 'loaded' };
      const source = `${name}@${version}`;
      // Versions this preload stored are labelled with the package, so a new revision can replace them.
      const loadedBy = `preload:${name}`;
      const earlier: { url: string; version: string }[] = [];
      for (let r = 1; r < Number(PRELOAD_REVISION); r++) earlier.push({ url: marker.url, version: `${version}#${r}` });
      const replace = (await writer.loadedCodeSystems(earlier)).size > 0;
      await writer.dropCodeSystems(earlier);
      let chunk: JsonObject[] = [];
      for await (const { resource } of fhirResources([dir], { terminologyNamesOnly: true, onBroken: () => void summary.broken++ })) {
        chunk.push(resource);
        if (chunk.length < CHUNK) continue;
        await writeChunk(writer, chunk, source, loadedBy, replace, summary);
        chunk = [];
      }
      await writeChunk(writer, chunk, source, loadedBy, replace, summary);
      const description = `Marks that Hearth preloaded the terminology of the FHIR package ${name} ${version} into the shared tables`;
      const resource = { resourceType: 'CodeSystem', url: marker.url, version: marker.version, name: 'HearthPreloadMarker', status: 'active', content: 'not-present', description };
      await writer.loadCodeSystems([{ header: { url: marker.url, version: marker.version, name: resource.name, status: 'active', content: 'not-present', caseSensitive: true, source: loadedBy, propertyDefs: [], resource }, concepts: [], edges: [] }]);
      await writer.bumpGeneration();
      return { ...summary, seconds: elapsed() };
    });
  } catch (error) {
    // Another process preloading at the same time won the race: its marker is there now.
    if (await done().catch(() => false)) return { ...skipped, seconds: elapsed() };
    throw error;
  }
}

/** Preloads both packages into the shared tables (idempotent: a preloaded package is skipped). */
export async function preloadPackages(shared: BulkSharedTerminology): Promise<PackagePreload[]> {
  const results: PackagePreload[] = [];
  for (const name of PRELOAD_PACKAGES) results.push(await preloadPackage(shared, name));
  return results;
}

export function describePreload(results: readonly PackagePreload[]): string {
  return results
    .map((r) =>
      r.status === 'skipped'
        ? `${r.name} ${r.version}: already preloaded, skipped`
        : `${r.name} ${r.version}: ${r.codeSystems} code systems (${r.concepts.toLocaleString('en-US')} concepts), ${r.definitions} definitions, ${r.broken} broken skipped, ${r.seconds.toFixed(1)} s`,
    )
    .join('\n');
}
