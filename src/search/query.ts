// A parsed search (FHIR R4 search.html): typed filters, sort keys and result parameters,
// produced by parse-query.ts and consumed by sql.ts. No SQL and no HTTP here.
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import type { SummaryMode } from '../fhir/summary.js';
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

export type Filter = IndexFilter | IdFilter | LastUpdatedFilter;

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
  count: number;
  total: TotalMode;
  summary?: SummaryMode;
  elements?: string[];
  /** Continue after this position (opaque token from a `next` link). */
  page?: string;
  /** Problems ignored under Prefer: handling=lenient, reported in the Bundle. */
  warnings: OperationOutcomeIssue[];
}
