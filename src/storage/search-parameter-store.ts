// What the search layer needs to build a tenant's search registries (search/tenant-params.ts,
// FHIR R4 search.html#custom): a cheap generation read on every use, and, when it changed, the
// tenant's SearchParameter resources and which of their versions completed $reindex jobs covered.

/** A live (not deleted) SearchParameter resource of the tenant, as stored. */
export interface StoredSearchParameter {
  id: string;
  versionId: number;
  /** The resource's JSON text. */
  content: string;
}

/** A custom parameter version a reindex job indexed, and for which types. */
export interface ReindexCoverage {
  id: string;
  versionId: number;
  types: string[];
}

export interface SearchParameterState {
  /** Every live SearchParameter, in id order (active or not: the search layer decides). */
  parameters: StoredSearchParameter[];
  /** One entry per parameter version per completed reindex job. */
  coverage: ReindexCoverage[];
}

export interface SearchParameterStore {
  /**
   * A value that changes whenever the tenant's SearchParameters or its completed reindex jobs
   * change; read on every use (so every API node sees a change at its next request), so it must
   * stay cheap. The whole generation logic lives behind this one method.
   */
  generation(): Promise<string>;
  /** The rows a registry is built from. */
  readState(): Promise<SearchParameterState>;
}
