// A parsed search (FHIR R4 search.html): typed filters, sort keys and result parameters,
// produced by parse-query.ts and consumed by sql.ts. No SQL and no HTTP here.
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import type { SummaryMode } from '../core/summary.js';
import type { ParsedValue, SearchParamDef } from './types.js';

/** A filter served by a parameter-type module over the `sp` index. */
export interface IndexFilter {
  kind: 'index';
  def: SearchParamDef;
  modifier?: string;
  values: ParsedValue[];
}

/** `_id` (search.html#id): a column, not an index entry. */
export interface IdFilter {
  kind: 'id';
  ids: string[];
  negate: boolean;
}

/** `_lastUpdated` (search.html#lastUpdated): date prefixes over the last_updated column. */
export interface LastUpdatedFilter {
  kind: 'lastUpdated';
  values: ParsedValue[];
}

/**
 * Chained parameter (search.html#chaining): `subject:Patient.name=x` matches resources whose
 * reference parameter points at a resource of `targetType` matching `inner`. Chains nest.
 */
export interface ChainFilter {
  kind: 'chain';
  def: SearchParamDef;
  targetType: string;
  inner: Filter;
  /**
   * Set by plan.ts: the matching targets ('Type/id'), to probe one by one (`probe`) or to test
   * membership in; or 'correlated' when there are too many to list.
   */
  resolved?: { refs: string[]; probe: boolean } | 'correlated';
}

/**
 * Reverse chain (search.html#has): `_has:Observation:patient:code=x` matches resources that
 * some Observation refers to through `patient` and that matches `inner`. Nests.
 */
export interface HasFilter {
  kind: 'has';
  sourceType: string;
  referenceDef: SearchParamDef;
  inner: Filter;
  /** Set by plan.ts when the matching sources are too many to list: probe per candidate row. */
  resolved?: 'correlated';
}

/**
 * Compartment search (compartmentdefinition.html, http.html#vsearch): GET /Patient/123/Observation
 * matches resources whose compartment parameters (any of `defs`) refer to `reference`.
 */
export interface CompartmentFilter {
  kind: 'compartment';
  defs: SearchParamDef[];
  reference: string;
}

export type TextParam = '_content' | '_text';

/** `_content` / `_text` (search.html#content, #text): full text search; `queries` are OR'ed (src/search/text-search.ts). */
export interface TextFilter {
  kind: 'text';
  param: TextParam;
  queries: string[];
}

/** `_list` (search.html#list): the resources the entries of the Lists `listIds` refer to (src/search/list-param.ts). */
export interface ListFilter {
  kind: 'list';
  listIds: string[];
}

export type Filter = IndexFilter | IdFilter | LastUpdatedFilter | ChainFilter | HasFilter | CompartmentFilter | TextFilter | ListFilter;

/** `_include` / `_revinclude` (search.html#include). */
export interface IncludeSpec {
  direction: 'include' | 'revinclude';
  /** The resource type holding the reference parameter ('*' only with `*` parameter). */
  sourceType: string;
  /** The reference parameter, or undefined for `*` (every reference parameter). */
  def?: SearchParamDef;
  /** Optional target type restriction (`_include=Observation:subject:Patient`). */
  targetType?: string;
  /** `:iterate` (R4; `:recurse` accepted as its old name). */
  iterate: boolean;
}

export interface SortKey {
  /** `_id`, `_lastUpdated` or a parameter definition. */
  param: '_id' | '_lastUpdated' | SearchParamDef;
  direction: 'asc' | 'desc';
}

export type TotalMode = 'none' | 'estimate' | 'accurate';

export interface SearchQuery {
  resourceType: string;
  filters: Filter[];
  sort: SortKey[];
  includes: IncludeSpec[];
  count: number;
  total: TotalMode;
  summary?: SummaryMode;
  elements?: string[];
  /** Continue after this position (opaque token from a `next` link). */
  page?: string;
  /** Problems ignored under Prefer: handling=lenient, reported in the Bundle. */
  warnings: OperationOutcomeIssue[];
  /** `_explain=true`: answer with the generated SQL and PostgreSQL's plan instead of results. */
  explain?: boolean;
  /** Names of the parameters lenient handling ignored (left out of the self link). */
  ignored: string[];
}
