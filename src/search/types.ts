// Contracts of the search engine (FHIR R4 search.html). ARCHITECTURE.md "Search": the
// registry is compiled once and frozen; a query is parsed into typed values, planned, and
// turned into SQL with bind parameters only. Each parameter type is one module holding the
// write side (index entries), the read side (SQL predicate) and an in-memory matcher; the
// matcher and the SQL both work on the SAME index entries, so they can be tested against
// each other.
//
// Index storage: every current resource table has a column `sp jsonb`, an object mapping a
// key (the parameter code, or `code:suffix` for a modifier-specific variant) to an array of
// entries whose shape the parameter type's module defines. One GIN (jsonb_path_ops) index
// on `sp` serves containment lookups for every token/reference/uri/exact-string parameter.
import type { JsonObject } from '../core/types.js';
import type { CodeSystemRef } from '../storage/terminology-store.js';

export type SearchParamType =
  | 'number'
  | 'date'
  | 'string'
  | 'token'
  | 'reference'
  | 'composite'
  | 'quantity'
  | 'uri'
  | 'special';

export interface CompositeComponent {
  /** Canonical URL of the component's SearchParameter. */
  definition: string;
  /** FHIRPath relative to each composite root. */
  expression: string;
}

/** One SearchParameter compiled for one resource type. Frozen. */
export interface SearchParamDef {
  code: string;
  type: SearchParamType;
  url: string;
  resourceType: string;
  /** The FHIRPath branches that apply to this resource type, joined by ' | '. */
  expression: string;
  /** Allowed target types for reference parameters (empty = any). */
  targets: readonly string[];
  components?: readonly CompositeComponent[];
  /**
   * Set on a composite's component (params/composite.ts): its entries live inside a tuple,
   * which keeps only the plain entries, and its predicate tests one tuple, not the GIN index.
   */
  componentSlot?: boolean;
  /**
   * A token parameter over `code` elements: the code system their required binding draws from
   * (registry/code-systems.ts). Their codes are indexed with it and without it.
   */
  codeSystem?: string;
  /** Evaluates the expression: the matching elements (primitives or JSON objects). */
  extract(resource: JsonObject): unknown[];
}

/** The index of one resource: the value of its `sp` column. */
export type SearchIndex = Record<string, unknown[]>;

/** Collects bind values for one SQL statement and hands out $n placeholders. */
export interface SqlBinds {
  add(value: unknown): string;
}

/**
 * What a predicate may need besides its binds (issue 12): the tenant's placeholder, for joins to
 * tenant tables (concept closure, cached expansions), and fresh table aliases.
 */
export interface PredicateContext {
  tenant: string;
  nextAlias(): string;
  /**
   * The statement tests a bounded walk of rows one by one (in id order) instead of asking an
   * index: a module may then prefer a form cheap per row over an indexable one.
   */
  rowTest?: boolean;
}

/**
 * Terminology a module resolves before its SQL is generated (search/terminology-plan.ts), like
 * chains are planned: what cannot be known synchronously, nor sent as thousands of binds.
 */
export interface TerminologyResolver {
  /** The version of `system` whose hierarchy `:below`/`:above` follow (the tenant's, else the shared one); undefined when unknown. */
  hierarchy(system: string): Promise<CodeSystemRef | undefined>;
  /**
   * The codes at or below (`below`) or at or above (`above`) `code` in that version when there
   * are at most `max`; otherwise only that there are more (`count` = max + 1).
   */
  closureCodes(version: CodeSystemRef & { url: string }, code: string, direction: 'below' | 'above', max: number): Promise<DrawnCodes>;
  /**
   * A cached expansion of the ValueSet `canonical` (url or url|version): its id, its size and,
   * when it holds at most `max` codes, the codes. Undefined when the ValueSet is unknown.
   */
  expansion(canonical: string, max: number): Promise<{ id: string; drawn: DrawnCodes } | undefined>;
}

/** Codes drawn from terminology: how many, and the (system, code) pairs themselves when they are few. */
export interface DrawnCodes {
  count: number;
  codes?: readonly { s: string; c: string }[];
}

/** A parsed query value of one parameter type (shape owned by the type's module). */
export interface ParsedValue {
  raw: string;
}

/** One module per parameter type (search.html#ptypes). */
export interface ParamTypeModule<V extends ParsedValue = ParsedValue> {
  readonly type: SearchParamType;
  /** Modifiers this type accepts (search.html#modifiers), besides :missing which all accept. */
  readonly modifiers: readonly string[];
  /** Adds the index entries for `values` (the results of def.extract) to `into`. */
  index(def: SearchParamDef, values: unknown[], into: SearchIndex): void;
  /** Parses one value (after splitting on unescaped commas); throws FhirError 400 naming the parameter. */
  parse(def: SearchParamDef, modifier: string | undefined, raw: string): V;
  /**
   * SQL predicate true when ANY of `values` matches (comma = OR), over the jsonb column
   * reference `sp` (e.g. `r.sp`). Values only as binds; keys only from def.code.
   */
  predicate(def: SearchParamDef, modifier: string | undefined, values: V[], sp: string, binds: SqlBinds, context?: PredicateContext): string;
  /**
   * Resolves what the values need from terminology (a code system version, an expansion) before
   * SQL is generated; returns the values to use. Absent: nothing to resolve.
   */
  resolve?(def: SearchParamDef, modifier: string | undefined, values: V[], terminology: TerminologyResolver): Promise<V[]>;
  /** The same decision in memory, on an index built by `index`. */
  matches(def: SearchParamDef, modifier: string | undefined, values: V[], index: SearchIndex): boolean;
  /** How `_sort` orders by this type (search.html#sort); absent: it cannot be sorted by. */
  readonly sort?: ParamSort;
}

export interface ParamSort {
  /** Text keys compare byte-wise, numeric ones as numbers; each has its own missing-value sentinel (sort-sql.ts). */
  readonly kind: 'text' | 'numeric';
  /** The ORDER BY key over `sp`, NULL when the resource has no value; keys only from def.code. */
  expression(def: SearchParamDef, sp: string, direction: 'asc' | 'desc'): string;
}
