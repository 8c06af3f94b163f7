// Concept storage as the terminology layer sees it (issue 12; migrations/0020, docs/terminology.md,
// docs/adr/0019-terminology-storage.md): code system versions, their concepts, is-a edges and the
// transitive closure, shared ones (read-only to a tenant) beside the tenant's own, plus the
// expansion cache. One TerminologyStore lives in one tenant transaction (ResourceStore.terminology).
import type { JsonObject } from '../core/types.js';

/** Where a code system version lives: shared by every tenant, or the tenant's own. */
export type TerminologyScope = 'shared' | 'tenant';

/** A CodeSystem.property definition (code, uri, type) as declared by the code system. */
export interface PropertyDef {
  code: string;
  uri?: string;
  description?: string;
  type: string;
}

/** A concept's property value: `type` is the FHIR type of the value[x] it came from. */
export interface ConceptProperty {
  code: string;
  /** The value as text (a Coding's code), which filters (`=`, `in`, `regex`) compare. */
  text?: string;
  type: 'code' | 'Coding' | 'string' | 'integer' | 'boolean' | 'dateTime' | 'decimal';
  /** code/string/dateTime as text, integer/decimal as number, boolean, or a Coding object. */
  value: string | number | boolean | { system?: string; code?: string; display?: string };
}

export interface Designation {
  language?: string;
  use?: { system?: string; code?: string; display?: string };
  value: string;
}

/** What a code system version says about itself (the CodeSystem's root elements). */
export interface CodeSystemHeader {
  url: string;
  /** '' when the code system has no version. */
  version: string;
  name?: string;
  title?: string;
  status?: string;
  /** CodeSystem.content: only `complete` (and `supplement`s, not used yet) define every code. */
  content: string;
  caseSensitive: boolean;
  hierarchyMeaning?: string;
  /** Who loaded it: 'fhir' (a CodeSystem resource), 'loinc', 'snomed', 'icd10cm', 'rxnorm', 'cvx', ... */
  source: string;
  propertyDefs: readonly PropertyDef[];
  /** The CodeSystem resource without its concepts (served by $lookup's name/version, not searched). */
  resource?: JsonObject;
}

export interface CodeSystemVersion extends CodeSystemHeader {
  /** Unique across shared and tenant versions. */
  id: string;
  scope: TerminologyScope;
  conceptCount: number;
  loadedAt: Date;
  /** For a tenant version made from a stored CodeSystem resource: its id. */
  resourceId?: string;
}

export interface ConceptInput {
  code: string;
  display?: string;
  /** Default true. */
  active?: boolean;
  designations?: readonly Designation[];
  properties?: readonly ConceptProperty[];
}

export interface Concept extends ConceptInput {
  active: boolean;
}

/** A direct is-a edge: `child` is-a `parent`. */
export interface ParentEdge {
  child: string;
  parent: string;
}

/** Adds concepts and edges to a version being loaded; nothing is visible before `finish`. */
export interface CodeSystemWriter {
  readonly id: string;
  addConcepts(concepts: readonly ConceptInput[]): Promise<void>;
  addParents(edges: readonly ParentEdge[]): Promise<void>;
  /** Computes the closure and publishes the version; edges naming unknown codes are ignored. */
  finish(): Promise<{ concepts: number; closureRows: number }>;
}

/**
 * One condition on concepts of one code system version (ValueSet.compose.include.filter,
 * valueset.html#filters), with the property `concept` for the hierarchy, `code`/`display` for
 * the concept's own fields, anything else for a concept property.
 */
export interface ConceptFilter {
  property: string;
  op: 'is-a' | 'descendent-of' | 'is-not-a' | 'generalizes' | '=' | 'in' | 'not-in' | 'regex' | 'exists';
  value: string;
}

export interface ConceptSelection {
  /** All must hold (compose.include.filter is a conjunction). */
  filters?: readonly ConceptFilter[];
  /** Only these codes (compose.include.concept). */
  codes?: readonly string[];
  activeOnly?: boolean;
  /** Each word of it must start a word of the display or the code (case-insensitive). */
  text?: string;
  /** At most this many, in code order; the caller asks for one more to tell "too many". */
  limit: number;
  offset?: number;
}

export interface TerminologyGenerations {
  shared: string;
  tenant: string;
}

export interface ExpansionCode {
  system: string;
  version?: string;
  code: string;
  display?: string;
  inactive?: boolean;
}

export type ExpansionCacheAccess = 'read-write' | 'read-only' | 'none';

export interface CachedExpansion {
  id: string;
  total: number;
}

/** Names one stored version (its id is unique across scopes; the scope says which tables hold it). */
export type CodeSystemRef = Pick<CodeSystemVersion, 'id' | 'scope'>;

export interface TerminologyStore {
  /**
   * Complete versions of `url` the tenant sees, the tenant's own first, then newest first; with
   * `version`, only that version.
   */
  codeSystems(url: string, version?: string): Promise<CodeSystemVersion[]>;
  /** Concepts of one version by code (those that exist). */
  concepts(cs: CodeSystemRef, codes: readonly string[]): Promise<Concept[]>;
  /** Direct parents and children of a code. */
  neighbours(cs: CodeSystemRef, code: string): Promise<{ parents: string[]; children: string[] }>;
  /** Up to `limit` codes at or below (`below`) or at or above (`above`) `code` (reflexive closure). */
  closureCodes(cs: CodeSystemRef, code: string, direction: 'below' | 'above', limit: number): Promise<string[]>;
  /** Is `descendant` the same as or below `ancestor` (reflexive closure)? */
  subsumes(cs: CodeSystemRef, ancestor: string, descendant: string): Promise<boolean>;
  /**
   * Why this database would refuse `pattern` as a regular expression (a filter's `regex` value),
   * or undefined when it accepts it. Checked without failing the transaction.
   */
  regexProblem(pattern: string): Promise<string | undefined>;
  /** Concepts matching a selection, ordered by code. */
  selectConcepts(cs: CodeSystemRef, selection: ConceptSelection): Promise<Concept[]>;
  /** Counts concepts matching a selection, stopping at `cap` (so a huge count costs at most cap rows). */
  countConcepts(cs: CodeSystemRef, selection: Omit<ConceptSelection, 'limit' | 'offset'>, cap: number): Promise<number>;

  /** Starts loading a tenant version; `replace` drops an existing one of the same url and version. */
  beginCodeSystem(header: CodeSystemHeader, options?: { replace?: boolean; resourceId?: string }): Promise<CodeSystemWriter>;
  /** Drops the tenant's versions made from a stored CodeSystem resource (when it is deleted or replaced). */
  dropCodeSystemsOfResource(resourceId: string): Promise<number>;

  /** Shared ValueSet/ConceptMap/CodeSystem definitions by canonical url (newest version first). */
  sharedResources(resourceType: 'CodeSystem' | 'ValueSet' | 'ConceptMap', url: string, version?: string): Promise<JsonObject[]>;

  generations(): Promise<TerminologyGenerations>;
  /** Marks the tenant's terminology changed (cached expansions become stale). */
  bumpGeneration(): Promise<void>;

  /**
   * What this transaction may do with the expansion cache: 'read-write' (saveExpansion works),
   * 'read-only' (a READ ONLY transaction: a read-write one would store it), or 'none' (a store
   * without a cache, e.g. the memory one: the engine keeps expansions in memory).
   */
  expansionCacheAccess(): Promise<ExpansionCacheAccess>;
  findExpansion(fingerprint: string): Promise<CachedExpansion | undefined>;
  /** Stores a whole expansion once (a concurrent identical one wins harmlessly). */
  saveExpansion(fingerprint: string, valueSet: { url?: string; version?: string }, codes: readonly ExpansionCode[]): Promise<CachedExpansion>;
  /** A page of a cached expansion, optionally narrowed by a text filter (as ConceptSelection.text). */
  expansionPage(expansionId: string, options: { text?: string; offset: number; count: number }): Promise<{ codes: ExpansionCode[]; total: number }>;
  /** Which of `codings` are members of a cached expansion (system and code; version when given). */
  expansionContains(expansionId: string, system: string | undefined, code: string): Promise<ExpansionCode | undefined>;
}
