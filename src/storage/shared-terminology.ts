// Writing the terminology every tenant shares (migrations/0020 `terminology_*`): only the
// operator's connection may (the CLI's imports and the preload), never a request. One
// SharedTerminologyWriter lives for one transaction, so an import lands whole or not at all.
import type { JsonObject } from '../core/types.js';
import type { CodeSystemHeader, CodeSystemWriter } from './terminology-store.js';

export type TerminologyResourceType = 'CodeSystem' | 'ValueSet' | 'ConceptMap';

export interface SharedTerminologyWriter {
  /** Starts loading a shared version; without `replace`, an existing one fails with CodeSystemAlreadyLoaded. */
  beginCodeSystem(header: CodeSystemHeader, options?: { replace?: boolean }): Promise<CodeSystemWriter>;
  /** Is this version already loaded (url, version '' for none)? */
  hasCodeSystem(url: string, version: string): Promise<boolean>;
  /** Stores (or replaces) a shared definition by resourceType, url and version. */
  putResource(resourceType: TerminologyResourceType, resource: JsonObject, source: string): Promise<void>;
  /** Marks shared terminology changed, so every tenant's cached expansions become stale. */
  bumpGeneration(): Promise<void>;
}

export interface SharedTerminology {
  /** Runs `work` in one transaction on the operator's connection. */
  write<T>(work: (writer: SharedTerminologyWriter) => Promise<T>): Promise<T>;
}
