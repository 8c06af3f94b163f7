// Where an import lands (docs/terminology-import.md, "Tenancy"): the shared tables through the
// operator's SharedTerminologyWriter, or one tenant's own through its TerminologyStore. Either
// lives in one transaction the caller opened, so an import is stored whole or not at all.
import type { JsonObject } from '../../core/types.js';
import type { SharedTerminologyWriter, TerminologyResourceType } from '../../storage/shared-terminology.js';
import type { CodeSystemHeader, CodeSystemWriter, TerminologyStore } from '../../storage/terminology-store.js';

export interface TerminologyTarget {
  scope: 'shared' | 'tenant';
  hasCodeSystem(url: string, version: string): Promise<boolean>;
  beginCodeSystem(header: CodeSystemHeader, options: { replace?: boolean }): Promise<CodeSystemWriter>;
  /** Shared only: stores a CodeSystem/ValueSet/ConceptMap definition (tenants store theirs through the FHIR API). */
  putResource?(resourceType: TerminologyResourceType, resource: JsonObject, source: string): Promise<void>;
  bumpGeneration(): Promise<void>;
}

export function sharedTarget(writer: SharedTerminologyWriter): TerminologyTarget {
  return {
    scope: 'shared',
    hasCodeSystem: (url, version) => writer.hasCodeSystem(url, version),
    beginCodeSystem: (header, options) => writer.beginCodeSystem(header, options),
    putResource: (type, resource, source) => writer.putResource(type, resource, source),
    bumpGeneration: () => writer.bumpGeneration(),
  };
}

export function tenantTarget(store: TerminologyStore): TerminologyTarget {
  return {
    scope: 'tenant',
    // codeSystems() answers shared versions too: only the tenant's own count here.
    hasCodeSystem: async (url, version) => (await store.codeSystems(url, version)).some((v) => v.scope === 'tenant'),
    beginCodeSystem: (header, options) => store.beginCodeSystem(header, options),
    bumpGeneration: () => store.bumpGeneration(),
  };
}
