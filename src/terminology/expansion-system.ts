// The system part of one ValueSet.compose.include or .exclude (FHIR R4 valueset.html#compose):
// the listed concepts (compose.include.concept), the concepts matching every filter
// (compose.include.filter, a conjunction, evaluated in SQL by concept storage), or the whole
// code system. Sizes are counted (countConcepts, stopping at the cap) before any row is fetched.
import type { JsonObject } from '../core/types.js';
import type { CodeSystemVersion, Concept, ConceptFilter, Designation, ExpansionCode, TerminologyStore } from '../storage/terminology-store.js';
import { designationIn } from './expansion-text.js';
import { invalidDefinition, systemNotLoaded, tooCostly, unknownCodes } from './expansion-problems.js';

export interface SystemPartOptions {
  activeOnly: boolean;
  displayLanguage?: string;
  /** Most codes this part may hold; one more is `too-costly`. */
  cap: number;
  /** The include's element path, e.g. ValueSet.compose.include[0]. */
  path: string;
  /** Notes for the expansion (codes listed from a system not loaded). */
  warnings: string[];
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const FILTER_OPS: ReadonlySet<string> = new Set(['=', 'is-a', 'descendent-of', 'is-not-a', 'regex', 'in', 'not-in', 'generalizes', 'exists']);
const HIERARCHY_OPS: ReadonlySet<string> = new Set(['is-a', 'descendent-of', 'is-not-a', 'generalizes']);

/**
 * The complete version of `system` the tenant sees (include.version, or its own newest, else the
 * shared newest): undefined when none is loaded with content `complete`.
 */
export async function completeVersion(store: TerminologyStore, system: string, version: string | undefined): Promise<CodeSystemVersion | undefined> {
  const versions = await store.codeSystems(system, version);
  return versions.find((v) => v.content === 'complete');
}

function expansionCode(cs: CodeSystemVersion, concept: Concept, display: string | undefined): ExpansionCode {
  return {
    system: cs.url,
    ...(cs.version !== '' ? { version: cs.version } : {}),
    code: concept.code,
    ...(display !== undefined ? { display } : {}),
    ...(concept.active ? {} : { inactive: true }),
  };
}

/** Regexes run in the database: one it would refuse is the ValueSet's fault (422), found before any statement could fail. */
async function checkRegexes(store: TerminologyStore, filters: readonly ConceptFilter[], path: string): Promise<void> {
  for (const [i, filter] of filters.entries()) {
    if (filter.op !== 'regex') continue;
    const refuse = (why: string) => invalidDefinition(`The regex filter value '${filter.value.slice(0, 100)}' ${why}`, `${path}.filter[${i}].value`);
    if (filter.value.length > 1000) throw refuse('is longer than 1,000 characters');
    const problem = await store.regexProblem(filter.value);
    if (problem !== undefined) throw refuse(`is not a regular expression this server can run (${problem})`);
  }
}

/** compose.include.filter as ConceptFilters, checked so concept storage accepts every one. */
export function conceptFilters(include: JsonObject, path: string): ConceptFilter[] {
  return objects(include.filter).map((f, i) => {
    const where = `${path}.filter[${i}]`;
    const property = text(f.property);
    const op = text(f.op);
    const value = typeof f.value === 'string' ? f.value : undefined;
    if (!property || !op || value === undefined) throw invalidDefinition('A filter needs property, op and value', where);
    if (!FILTER_OPS.has(op)) throw invalidDefinition(`The filter operator '${op}' is not one of ${[...FILTER_OPS].join(', ')}`, `${where}.op`);
    const hierarchy = property === 'concept' || property === 'code';
    if (HIERARCHY_OPS.has(op) && !hierarchy) throw invalidDefinition(`The filter operator '${op}' applies to the property 'concept' only, not '${property}'`, `${where}.op`);
    if ((property === 'parent' || property === 'child') && op === 'regex') throw invalidDefinition(`The filter operator 'regex' does not apply to the property '${property}'`, `${where}.op`);
    if ((property === 'inactive' || property === 'status') && op !== '=') throw invalidDefinition(`Only '=' applies to the property '${property}'`, `${where}.op`);
    if (op === 'exists' && value !== 'true' && value !== 'false') throw invalidDefinition(`The 'exists' filter takes true or false, not '${value}'`, `${where}.value`);
    return { property, op: op as ConceptFilter['op'], value };
  });
}

/** Concept storage refused a filter (its UnsupportedFilter, known here by name only: layers). */
const isUnsupportedFilter = (error: unknown) => error instanceof Error && error.name === 'UnsupportedFilter';

/** Filters or the whole system: counted first, then fetched in code order. */
async function selected(store: TerminologyStore, cs: CodeSystemVersion, filters: ConceptFilter[], options: SystemPartOptions): Promise<ExpansionCode[]> {
  const selection = { filters, activeOnly: options.activeOnly };
  try {
    // A whole system without activeOnly is as big as its concept count: no count statement.
    const count = filters.length === 0 && !options.activeOnly ? cs.conceptCount : await store.countConcepts(cs, selection, options.cap + 1);
    if (count > options.cap) throw tooCostly(options.cap, options.path);
    const concepts = await store.selectConcepts(cs, { ...selection, limit: options.cap + 1 });
    if (concepts.length > options.cap) throw tooCostly(options.cap, options.path);
    return concepts.map((c) => expansionCode(cs, c, designationIn(c.designations, options.displayLanguage) ?? c.display));
  } catch (error) {
    if (isUnsupportedFilter(error)) throw invalidDefinition((error as Error).message, `${options.path}.filter`);
    throw error;
  }
}

interface Listed {
  code: string;
  display?: string;
  designations: Designation[];
}

function listedConcepts(include: JsonObject, path: string): Listed[] {
  return objects(include.concept).map((c, i) => {
    const code = text(c.code);
    if (!code) throw invalidDefinition('A listed concept needs a code', `${path}.concept[${i}].code`);
    const designations = objects(c.designation).flatMap((d) => (text(d.value) ? [{ value: d.value as string, ...(text(d.language) ? { language: d.language as string } : {}) }] : []));
    return { code, ...(text(c.display) ? { display: c.display as string } : {}), designations };
  });
}

/** compose.include.concept: codes must exist in a loaded system; display from the list, else the system. */
async function listed(store: TerminologyStore, cs: CodeSystemVersion | undefined, include: JsonObject, options: SystemPartOptions): Promise<ExpansionCode[]> {
  const list = listedConcepts(include, options.path);
  if (list.length > options.cap) throw tooCostly(options.cap, options.path);
  const system = include.system as string;
  const pick = (item: Listed, concept?: Concept) =>
    designationIn(item.designations, options.displayLanguage) ?? designationIn(concept?.designations, options.displayLanguage) ?? item.display ?? concept?.display;
  if (!cs) {
    // Not loaded: the codes as listed, unverified (valueset.html#compose: an extensional list
    // needs no code system to enumerate), with a warning.
    const version = text(include.version);
    options.warnings.push(`The code system ${version ? `${system}|${version}` : system} is not loaded: the codes listed in ${options.path} are included as given, unverified`);
    return list.map((item) => {
      const display = pick(item);
      return { system, ...(version ? { version } : {}), code: item.code, ...(display !== undefined ? { display } : {}) };
    });
  }
  const concepts = new Map((await store.concepts(cs, list.map((l) => l.code))).map((c) => [c.code, c]));
  const missing = list.filter((l) => !concepts.has(l.code)).map((l) => l.code);
  if (missing.length > 0) throw unknownCodes(cs.url, missing, `${options.path}.concept`);
  return list.flatMap((item) => {
    const concept = concepts.get(item.code) as Concept;
    return options.activeOnly && !concept.active ? [] : [expansionCode(cs, concept, pick(item, concept))];
  });
}

/** The codes of an include's (or exclude's) `system` with its concept list, filters, or none of them. */
export async function systemPart(store: TerminologyStore, include: JsonObject, options: SystemPartOptions): Promise<ExpansionCode[]> {
  const system = include.system as string;
  const version = text(include.version);
  const filters = conceptFilters(include, options.path);
  const hasList = Array.isArray(include.concept) && include.concept.length > 0;
  if (hasList && filters.length > 0) throw invalidDefinition('An include cannot have both concept and filter (vsd-3)', options.path);
  const cs = await completeVersion(store, system, version);
  if (hasList) return listed(store, cs, include, options);
  if (!cs) throw systemNotLoaded(system, version, `${options.path}.system`);
  await checkRegexes(store, filters, options.path);
  return selected(store, cs, filters, options);
}
