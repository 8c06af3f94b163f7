// Writing many small shared code systems and definitions at once (the preload of the FHIR R4 and
// HL7 Terminology packages: about 1,900 code systems of 20 concepts on average and 5,800
// definitions). Loading them one by one costs some 20,000 statements, over 30 s on the embedded
// PGlite; in batches a few hundred (docs/terminology-import.md, "Preload"). Same tables and rules
// as SharedTerminologyWriter; one write() is one transaction on the operator's connection.
import type { JsonObject } from '../core/types.js';
import type { TerminologyResourceType } from './shared-terminology.js';
import type { CodeSystemHeader, ConceptInput, ParentEdge } from './terminology-store.js';

export interface CodeSystemLoad {
  header: CodeSystemHeader;
  concepts: readonly ConceptInput[];
  edges: readonly ParentEdge[];
}

export interface DefinitionLoad {
  resourceType: TerminologyResourceType;
  resource: JsonObject;
  source: string;
}

export interface BulkSharedTerminologyWriter {
  hasCodeSystem(url: string, version: string): Promise<boolean>;
  /** Which of these versions are loaded already, as `url|version` keys. */
  loadedCodeSystems(versions: readonly { url: string; version: string }[]): Promise<Set<string>>;
  /**
   * Loads versions none of which is loaded yet (each url and version once), with their closures,
   * in a few statements. Edges naming codes a version does not define are left out of its closure.
   */
  loadCodeSystems(loads: readonly CodeSystemLoad[]): Promise<{ concepts: number; closureRows: number }>;
  /** Stores (or replaces) definitions by resourceType, url and version (each needs a url). */
  putResources(definitions: readonly DefinitionLoad[]): Promise<void>;
  bumpGeneration(): Promise<void>;
  /** Drops these versions (and their concepts) where loaded: a preload replacing its own earlier content. */
  dropCodeSystems(versions: readonly { url: string; version: string }[]): Promise<number>;
}

export interface BulkSharedTerminology {
  write<T>(work: (writer: BulkSharedTerminologyWriter) => Promise<T>): Promise<T>;
}

export const versionKey = (url: string, version: string) => `${url}|${version}`;
