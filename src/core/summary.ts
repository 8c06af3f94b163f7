// _summary and _elements (FHIR R4 search.html#summary and search.html#elements), applied to
// one resource: read, vread, search and history all shape each returned resource this way.
//
// Element flags (isSummary, min >= 1) come from src/core/generated/element-flags.json, generated
// from the R4 core StructureDefinitions by scripts/generate-element-flags.ts. Only top-level
// elements are filtered; nested non-summary elements inside a kept element are left in place
// (the spec allows returning more than asked, never less of what is mandatory).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './project-root.js';
import { badRequest } from './errors.js';

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';
type Json = Record<string, unknown>;

interface TypeFlags {
  summary: string[];
  mandatory: string[];
  nonSummary: string[];
  /** Choice base name (e.g. "value") -> JSON names (valueQuantity, ...). */
  choices?: Record<string, string[]>;
}

/** Marks a resource as incomplete so clients don't mistake it for (or update from) the full one. */
export const SUBSETTED_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue';
export const SUBSETTED_CODE = 'SUBSETTED';

// Always returned, whatever is asked (search.html#summary / #elements).
const ALWAYS = ['resourceType', 'id', 'meta'] as const;
const SUMMARY_MODES: ReadonlySet<string> = new Set(['true', 'text', 'data', 'count', 'false']);
// R4 _elements takes base element names, no paths: letters, digits, underscore.
const ELEMENT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

let flagsCache: Record<string, TypeFlags> | undefined;

function allFlags(): Record<string, TypeFlags> {
  flagsCache ??= JSON.parse(
    readFileSync(join(projectRoot(), 'src/core/generated/element-flags.json'), 'utf8'),
  ) as Record<string, TypeFlags>;
  return flagsCache;
}

/** The flags of a resource type, or undefined for a type the spec does not define. */
export function elementFlags(type: string): Readonly<TypeFlags> | undefined {
  return Object.hasOwn(allFlags(), type) ? allFlags()[type] : undefined;
}

/**
 * Validates `_summary`. Absent -> undefined. 'count' is meaningful only for searches
 * (search.html#summary), so it is rejected unless `allowCount` is set.
 */
export function parseSummaryParam(value: string | null | undefined, options: { allowCount?: boolean } = {}): SummaryMode | undefined {
  if (value === null || value === undefined) return undefined;
  if (!SUMMARY_MODES.has(value) || (value === 'count' && !options.allowCount)) {
    const allowed = options.allowCount ? 'true, text, data, count, false' : 'true, text, data, false';
    throw badRequest(`Invalid _summary value '${value}'; expected one of: ${allowed}`, ['_summary']);
  }
  return value as SummaryMode;
}

/** Validates `_elements` (comma-separated element names). Absent -> undefined. */
export function parseElementsParam(value: string | null | undefined): string[] | undefined {
  if (value === null || value === undefined) return undefined;
  const names = value.split(',').map((n) => n.trim());
  const bad = names.filter((n) => !ELEMENT_NAME.test(n));
  if (bad.length > 0 || names.length === 0) {
    const shown = bad.map((n) => `'${n}'`).join(', ');
    throw badRequest(`Invalid _elements value: ${shown || "''"} is not an element name`, ['_elements']);
  }
  return [...new Set(names)];
}

/** Applies a _summary mode; 'false' returns the input itself. Never mutates the input. */
export function applySummary(resource: Json, mode: 'true' | 'text' | 'data' | 'false'): Json {
  if (mode === 'false') return resource;
  const flags = elementFlags(String(resource.resourceType));
  let keep: (name: string) => boolean;
  if (mode === 'data') {
    keep = (name) => name !== 'text';
  } else {
    const allowed = new Set<string>(ALWAYS);
    if (mode === 'text') allowed.add('text');
    for (const name of mode === 'true' ? flags?.summary ?? [] : flags?.mandatory ?? []) allowed.add(name);
    keep = (name) => allowed.has(name);
  }
  return withSubsettedTag(pick(resource, keep));
}

/**
 * Keeps only the named top-level elements, plus resourceType, id, meta and the type's
 * mandatory elements. A choice base name ("value") selects every valueXxx. Unknown names
 * are ignored here; see unknownElements() to warn about them.
 */
export function applyElements(resource: Json, elements: readonly string[]): Json {
  const flags = elementFlags(String(resource.resourceType));
  const allowed = new Set<string>([...ALWAYS, ...(flags?.mandatory ?? [])]);
  for (const name of elements) {
    allowed.add(name);
    for (const jsonName of flags?.choices?.[name] ?? []) allowed.add(jsonName);
  }
  return withSubsettedTag(pick(resource, (name) => allowed.has(name)));
}

/** The names in `elements` that are not top-level elements (or choice base names) of `type`. */
export function unknownElements(type: string, elements: readonly string[]): string[] {
  const flags = elementFlags(type);
  if (!flags) return [...elements];
  const known = new Set([...flags.summary, ...flags.nonSummary, ...Object.keys(flags.choices ?? {})]);
  return elements.filter((name) => !known.has(name));
}

/**
 * Copies the properties whose element name passes `keep`, in their original order.
 * A primitive's `_name` companion (id/extensions, json.html#primitive) follows `name`.
 */
function pick(resource: Json, keep: (name: string) => boolean): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(resource)) {
    const name = key.startsWith('_') ? key.slice(1) : key;
    if (key === 'resourceType' || keep(name)) out[key] = value;
  }
  return out;
}

/** Adds the SUBSETTED tag to a copy of meta, once. `resource` is already a fresh copy. */
function withSubsettedTag(resource: Json): Json {
  const meta = isObject(resource.meta) ? { ...resource.meta } : {};
  const tags = Array.isArray(meta.tag) ? [...(meta.tag as unknown[])] : [];
  const present = tags.some((t) => isObject(t) && t.system === SUBSETTED_SYSTEM && t.code === SUBSETTED_CODE);
  if (!present) tags.push({ system: SUBSETTED_SYSTEM, code: SUBSETTED_CODE });
  meta.tag = tags;
  // Keep meta where it was; if it was absent, put it right after id for readable output.
  if (isObject(resource.meta)) return { ...resource, meta };
  const out: Json = {};
  for (const [key, value] of Object.entries(resource)) {
    out[key] = value;
    if (key === 'id') out.meta = meta;
  }
  if (!('meta' in out)) out.meta = meta;
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
