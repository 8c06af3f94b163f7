// Loading code system versions into a TerminologyTarget (docs/terminology-import.md): one
// version from release files (a CodeSystemSource), or the CodeSystem/ValueSet/ConceptMap
// resources of FHIR files. A version already loaded is skipped (imports are idempotent) unless
// `replace` is asked for; nothing is stored until the caller's transaction commits.
import type { JsonObject } from '../../core/types.js';
import type { CodeSystemHeader, ConceptInput, ParentEdge } from '../../storage/terminology-store.js';
import type { TerminologyResourceType } from '../../storage/shared-terminology.js';
import { codeSystemContent, type CodeSystemContent } from '../code-system-content.js';
import { BatchingSink, SINK_BATCH, type CodeSystemSource, type ImportProgress } from './source.js';
import type { TerminologyTarget } from './target.js';

export interface ImportOptions {
  replace?: boolean;
  /** Overrides the version the files carry (`--version`). */
  version?: string;
}

export interface VersionOutcome {
  url: string;
  version: string;
  status: 'loaded' | 'skipped';
  concepts: number;
  edges: number;
  closureRows: number;
}

/** A version is loaded already: not an error for an import (docs/terminology-import.md, "Idempotency"). */
const isAlreadyLoaded = (error: unknown) => (error as Error | undefined)?.name === 'CodeSystemAlreadyLoaded';

export const newProgress = (bytesTotal = 0): ImportProgress => ({ bytesTotal, bytesDone: 0, concepts: 0, edges: 0 });

/** Imports one code system version from release files. */
export async function importCodeSystem(
  target: TerminologyTarget,
  source: CodeSystemSource,
  options: ImportOptions,
  progress: ImportProgress = newProgress(),
): Promise<VersionOutcome> {
  const read = await source.header();
  const header: CodeSystemHeader = options.version ? { ...read, version: options.version, resource: { ...read.resource, version: options.version } } : read;
  const skipped: VersionOutcome = { url: header.url, version: header.version, status: 'skipped', concepts: 0, edges: 0, closureRows: 0 };
  if (!options.replace && (await target.hasCodeSystem(header.url, header.version))) return skipped;
  let writer;
  try {
    writer = await target.beginCodeSystem(header, { replace: options.replace });
  } catch (error) {
    if (isAlreadyLoaded(error)) return skipped;
    throw error;
  }
  const sink = new BatchingSink(writer, progress);
  const before = progress.edges;
  await source.emit(sink, progress);
  await sink.flush();
  progress.file = 'the is-a closure';
  const done = await writer.finish();
  if (target.putResource && header.resource) await target.putResource('CodeSystem', { resourceType: 'CodeSystem', ...header.resource }, header.source);
  await target.bumpGeneration();
  return { ...skipped, status: 'loaded', concepts: done.concepts, edges: progress.edges - before, closureRows: done.closureRows };
}

const TERMINOLOGY_TYPES = new Set<string>(['CodeSystem', 'ValueSet', 'ConceptMap']);

export interface FhirOutcome {
  codeSystems: VersionOutcome[];
  /** CodeSystems stored as definitions only (content other than complete: no concepts to load). */
  definitionsOnly: number;
  valueSets: number;
  conceptMaps: number;
  /** ValueSets/ConceptMaps not stored: a tenant stores them through the FHIR API. */
  notForTenant: number;
  /** Resources of other types, or broken (no url, a code twice, ...), with why. */
  skipped: { origin: string; reason: string }[];
}

export interface FhirResource {
  resource: JsonObject;
  /** Where it came from (file, file#entry), for messages. */
  origin: string;
}

export interface FhirImportOptions extends ImportOptions {
  /** Label stored with shared definitions (terminology_resource.source). */
  source: string;
  /** Skip broken resources (the preload) instead of failing the import. */
  lenient?: boolean;
}

/** Loads a complete CodeSystem's concepts (skips a loaded version unless replacing). */
async function loadCodeSystemResource(target: TerminologyTarget, content: CodeSystemContent, options: FhirImportOptions, progress: ImportProgress): Promise<VersionOutcome> {
  const header = options.version ? { ...content.header, version: options.version } : content.header;
  const outcome: VersionOutcome = { url: header.url, version: header.version, status: 'skipped', concepts: 0, edges: 0, closureRows: 0 };
  if (!options.replace && (await target.hasCodeSystem(header.url, header.version))) return outcome;
  let writer;
  try {
    writer = await target.beginCodeSystem(header, { replace: options.replace });
  } catch (error) {
    if (isAlreadyLoaded(error)) return outcome;
    throw error;
  }
  for (let i = 0; i < content.concepts.length; i += SINK_BATCH) await writer.addConcepts(content.concepts.slice(i, i + SINK_BATCH) as ConceptInput[]);
  for (let i = 0; i < content.edges.length; i += SINK_BATCH) await writer.addParents(content.edges.slice(i, i + SINK_BATCH) as ParentEdge[]);
  const done = await writer.finish();
  progress.concepts += done.concepts;
  progress.edges += content.edges.length;
  return { ...outcome, status: 'loaded', concepts: done.concepts, edges: content.edges.length, closureRows: done.closureRows };
}

/** Why a resource cannot be stored as a terminology definition, or undefined. */
function problemOf(resource: JsonObject): string | undefined {
  if (!TERMINOLOGY_TYPES.has(resource.resourceType as string)) return `a ${String(resource.resourceType)} is not a CodeSystem, ValueSet or ConceptMap`;
  if (typeof resource.url !== 'string' || resource.url === '') return `${String(resource.resourceType)}.url is missing`;
  return undefined;
}

/**
 * Imports FHIR terminology resources: each complete CodeSystem's concepts; every definition into
 * the shared tables (putResource) when the target is shared. Broken resources fail the import,
 * or with `lenient` are counted and skipped (checked before anything of them is written, so the
 * transaction stays usable).
 */
export async function importFhirResources(
  target: TerminologyTarget,
  resources: AsyncIterable<FhirResource> | Iterable<FhirResource>,
  options: FhirImportOptions,
  progress: ImportProgress = newProgress(),
): Promise<FhirOutcome> {
  const outcome: FhirOutcome = { codeSystems: [], definitionsOnly: 0, valueSets: 0, conceptMaps: 0, notForTenant: 0, skipped: [] };
  let changed = false;
  for await (const { resource, origin } of resources) {
    progress.file = origin;
    const problem = problemOf(resource);
    if (problem) {
      if (!options.lenient && TERMINOLOGY_TYPES.has(resource.resourceType as string)) throw new Error(`${origin}: ${problem}`);
      outcome.skipped.push({ origin, reason: problem });
      continue;
    }
    const type = resource.resourceType as TerminologyResourceType;
    if (type !== 'CodeSystem' && !target.putResource) {
      outcome.notForTenant++;
      continue;
    }
    if (type === 'CodeSystem') {
      if (resource.content === 'complete' || resource.content === undefined) {
        let content: CodeSystemContent;
        try {
          // Refuses a broken resource (a code twice, a concept without a code) before anything is written.
          content = codeSystemContent(resource, 'fhir');
        } catch (error) {
          if (!options.lenient) throw new Error(`${origin}: ${(error as Error).message}`, { cause: error });
          outcome.skipped.push({ origin, reason: (error as Error).message });
          continue;
        }
        const loaded = await loadCodeSystemResource(target, content, options, progress);
        outcome.codeSystems.push(loaded);
        changed ||= loaded.status === 'loaded';
      } else if (target.putResource) {
        outcome.definitionsOnly++;
      } else {
        outcome.skipped.push({ origin, reason: `CodeSystem.content is ${String(resource.content)}: only complete code systems load concepts` });
        continue;
      }
    } else if (type === 'ValueSet') outcome.valueSets++;
    else outcome.conceptMaps++;
    if (target.putResource) {
      await target.putResource(type, resource, options.source);
      changed = true;
    }
  }
  if (changed) await target.bumpGeneration();
  return outcome;
}
