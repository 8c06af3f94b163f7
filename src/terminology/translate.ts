// ConceptMap $translate (FHIR R4 conceptmap-operations.html#translate, terminology-service.html
// "Translation", conceptmap.html): the targets a ConceptMap gives a source concept — or, with
// `reverse`, the source concepts mapped to a target concept. A map is indexed by code once (per
// group: source code -> elements, and target code -> elements when reversed) and kept in a small
// cache under a key that changes when the map does (translate-cache.ts), so a large map is not
// read and scanned on every call. `group.unmapped` applies when a group has no element for the
// code: `provided` (the same code in the target system), `fixed` (unmapped.code) and `other-map`
// (the same concept through the map unmapped.url names).
import type { ConceptMap, ConceptMapGroup, ConceptMapGroupElement, ConceptMapGroupElementTarget, ConceptMapGroupElementTargetDependsOn } from 'fhir/r4.js';
import type { TerminologyContext } from './definitions.js';
import { splitCanonical } from './definitions.js';
import type { CodingInput } from './validate-code.js';

export interface MatchCoding {
  system?: string;
  version?: string;
  code: string;
  display?: string;
}

export interface TranslateMatch {
  equivalence: string;
  concept?: MatchCoding;
  /** target.product: other elements the mapping produces (element = the property, concept its value). */
  product?: { element: string; concept: MatchCoding }[];
  /** The canonical url of the ConceptMap that made the match. */
  source?: string;
}

export interface TranslateResult {
  result: boolean;
  message?: string;
  matches: TranslateMatch[];
}

export interface TranslateRequest {
  /** The concept(s) to translate: one coding, or a CodeableConcept's codings (each needs system and code). */
  codings: readonly CodingInput[];
  /** Only targets in this system (the source system when reversed). */
  targetSystem?: string;
  reverse: boolean;
}

interface IndexedGroup {
  group: ConceptMapGroup;
  bySource: Map<string, ConceptMapGroupElement[]>;
  /** Built the first time the map is read in reverse. */
  byTarget?: Map<string, { element: ConceptMapGroupElement; target: ConceptMapGroupElementTarget }[]>;
}

/** A ConceptMap with its elements indexed by code (immutable once built; shared through the cache). */
export interface IndexedConceptMap {
  map: ConceptMap;
  groups: IndexedGroup[];
}

const push = <K, V>(index: Map<K, V[]>, key: K, value: V) => {
  const list = index.get(key);
  if (list) list.push(value);
  else index.set(key, [value]);
};

export function indexConceptMap(map: ConceptMap): IndexedConceptMap {
  const groups = (map.group ?? []).map((group) => {
    const bySource = new Map<string, ConceptMapGroupElement[]>();
    for (const element of group.element ?? []) if (element.code) push(bySource, element.code, element);
    return { group, bySource };
  });
  return { map, groups };
}

function targetIndex(g: IndexedGroup): NonNullable<IndexedGroup['byTarget']> {
  if (!g.byTarget) {
    const byTarget: NonNullable<IndexedGroup['byTarget']> = new Map();
    for (const element of g.group.element ?? []) for (const target of element.target ?? []) if (target.code) push(byTarget, target.code, { element, target });
    g.byTarget = byTarget;
  }
  return g.byTarget;
}

/** Reading a mapping backwards turns its equivalence around (R4 ConceptMapEquivalence). */
const REVERSED: Record<string, string> = { wider: 'narrower', narrower: 'wider', subsumes: 'specializes', specializes: 'subsumes' };

/** Matches that do not translate (translate "result": true only when some match is neither). */
const NOT_A_TRANSLATION = new Set(['unmatched', 'disjoint']);

const coding = (system: string | undefined, version: string | undefined, code: string, display?: string): MatchCoding => ({
  ...(system ? { system } : {}),
  ...(version ? { version } : {}),
  code,
  ...(display ? { display } : {}),
});

function products(target: ConceptMapGroupElementTarget): TranslateMatch['product'] {
  const list = (target.product ?? []).filter((p): p is ConceptMapGroupElementTargetDependsOn & { value: string } => typeof p.value === 'string');
  return list.length === 0 ? undefined : list.map((p) => ({ element: p.property, concept: coding(p.system, undefined, p.value, p.display) }));
}

function targetMatch(m: IndexedConceptMap, group: ConceptMapGroup, target: ConceptMapGroupElementTarget): TranslateMatch {
  const product = products(target);
  return {
    equivalence: target.equivalence ?? 'equivalent',
    ...(target.code ? { concept: coding(group.target, group.targetVersion, target.code, target.display) } : {}),
    ...(product ? { product } : {}),
    ...(m.map.url ? { source: m.map.url } : {}),
  };
}

/** Finds the ConceptMap a `group.unmapped.url` (other-map) names. */
export type OtherMapFinder = (canonical: string) => Promise<IndexedConceptMap | undefined>;

/** How many other-map hops one translation may take (maps that name each other end there). */
const MAX_OTHER_MAP_DEPTH = 4;

async function forward(m: IndexedConceptMap, c: Required<Pick<CodingInput, 'system' | 'code'>> & CodingInput, targetSystem: string | undefined, other: OtherMapFinder, depth: number): Promise<TranslateMatch[]> {
  const matches: TranslateMatch[] = [];
  for (const g of m.groups) {
    const { group } = g;
    if (group.source !== c.system || (c.version && group.sourceVersion && group.sourceVersion !== c.version)) continue;
    if (targetSystem !== undefined && group.target !== targetSystem) continue;
    const elements = g.bySource.get(c.code);
    if (elements) {
      for (const element of elements) for (const target of element.target ?? []) matches.push(targetMatch(m, group, target));
      continue;
    }
    const unmapped = group.unmapped;
    if (unmapped?.mode === 'provided') matches.push({ equivalence: 'equal', concept: coding(group.target, group.targetVersion, c.code, undefined), ...(m.map.url ? { source: m.map.url } : {}) });
    else if (unmapped?.mode === 'fixed' && unmapped.code) {
      matches.push({ equivalence: 'relatedto', concept: coding(group.target, group.targetVersion, unmapped.code, unmapped.display), ...(m.map.url ? { source: m.map.url } : {}) });
    } else if (unmapped?.mode === 'other-map' && unmapped.url && depth < MAX_OTHER_MAP_DEPTH) {
      const next = await other(unmapped.url);
      if (next && next.map !== m.map) matches.push(...(await forward(next, c, targetSystem, other, depth + 1)));
    }
  }
  return matches;
}

function reverse(m: IndexedConceptMap, c: Required<Pick<CodingInput, 'system' | 'code'>> & CodingInput, sourceSystem: string | undefined): TranslateMatch[] {
  const matches: TranslateMatch[] = [];
  for (const g of m.groups) {
    const { group } = g;
    if (group.target !== c.system || (c.version && group.targetVersion && group.targetVersion !== c.version)) continue;
    if (sourceSystem !== undefined && group.source !== sourceSystem) continue;
    for (const { element, target } of targetIndex(g).get(c.code) ?? []) {
      if (!element.code) continue;
      const equivalence = target.equivalence ?? 'equivalent';
      matches.push({
        equivalence: REVERSED[equivalence] ?? equivalence,
        concept: coding(group.source, group.sourceVersion, element.code, element.display),
        ...(m.map.url ? { source: m.map.url } : {}),
      });
    }
  }
  return matches;
}

const matchKey = (m: TranslateMatch) => JSON.stringify([m.equivalence, m.concept?.system, m.concept?.version, m.concept?.code, m.source, m.product]);

const mapNames = (maps: readonly IndexedConceptMap[]) => maps.map((m) => `'${m.map.url ?? m.map.id ?? '(inline)'}'`).join(', ');

/**
 * Translates the request's coding(s) with `maps` (already chosen: by url, instance, or their
 * source and target). No maps, or no match, is result=false with a message — not an error.
 */
export async function translateCodings(ctx: TerminologyContext, maps: readonly IndexedConceptMap[], request: TranslateRequest): Promise<TranslateResult> {
  const other: OtherMapFinder = async (canonical) => {
    const { url, version } = splitCanonical(canonical);
    const found = await ctx.definitions.find('ConceptMap', url, version);
    return found ? indexConceptMap(found as unknown as ConceptMap) : undefined;
  };
  const codings = request.codings.filter((c): c is CodingInput & { system: string; code: string } => !!c.system && !!c.code);
  const label = codings.map((c) => `${c.system}|${c.code}`).join(', ');
  if (maps.length === 0) return { result: false, message: `No ConceptMap applies to ${label}`, matches: [] };
  const seen = new Set<string>();
  const matches: TranslateMatch[] = [];
  for (const c of codings) {
    for (const m of maps) {
      const found = request.reverse ? reverse(m, c, request.targetSystem) : await forward(m, c, request.targetSystem, other, 0);
      for (const match of found) {
        const key = matchKey(match);
        if (!seen.has(key)) matches.push(match), seen.add(key);
      }
    }
  }
  const result = matches.some((m) => !NOT_A_TRANSLATION.has(m.equivalence));
  if (result) return { result, matches };
  const direction = request.reverse ? 'mapped to' : 'mapping';
  const message = matches.length === 0
    ? `No concept ${direction} ${label}${request.targetSystem ? ` in the system '${request.targetSystem}'` : ''} in the ConceptMap ${mapNames(maps)}`
    : `${label} is ${[...new Set(matches.map((m) => m.equivalence))].join(' or ')} in the ConceptMap ${mapNames(maps)}`;
  return { result, message, matches };
}
