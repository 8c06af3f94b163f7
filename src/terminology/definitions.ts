// Where the terminology layer finds ValueSet, ConceptMap and CodeSystem definitions by canonical
// url (FHIR R4 references.html#canonical): the tenant's stored resources first, then the shared
// ones (preloaded R4 and HL7 content, operator imports). The FHIR layer implements it (it owns
// search); the terminology layer only asks.
import type { JsonObject } from '../core/types.js';
import type { TerminologyStore } from '../storage/terminology-store.js';

export type DefinitionType = 'CodeSystem' | 'ValueSet' | 'ConceptMap';

export interface TerminologyDefinitions {
  /**
   * The definition of `url` (a `url|version` canonical is split by the caller): with `version`,
   * that version; without, the tenant's newest, else the shared newest. Undefined when unknown.
   */
  find(type: DefinitionType, url: string, version?: string): Promise<JsonObject | undefined>;
}

/** Splits a canonical `url|version` (references.html#canonical). */
export function splitCanonical(canonical: string): { url: string; version?: string } {
  const bar = canonical.indexOf('|');
  return bar < 0 ? { url: canonical } : { url: canonical.slice(0, bar), version: canonical.slice(bar + 1) || undefined };
}

/** What the terminology operations are given: the tenant's concept storage and its definitions. */
export interface TerminologyContext {
  store: TerminologyStore;
  definitions: TerminologyDefinitions;
}
