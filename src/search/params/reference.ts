// Reference search parameters (FHIR R4 search.html#reference, #modifiers, #escaping):
// `[id]`, `[Type]/[id]`, `[Type]/[id]/_history/[vid]`, an absolute URL or canonical, the
// `:[Type]` modifier and `:identifier`. Everything is answered by containment.
//
// Index entries (src/search/types.ts):
//   "<code>":            strings, per Reference.reference or canonical/uri value:
//                        - relative `Type/id` -> "Type/id", plus the bare "id" when Type is one of
//                          def.targets (or def.targets is empty), so `subject=123` is one probe;
//                        - versioned `Type/id/_history/v` -> that string as well as the above;
//                        - absolute URL / URN -> as written, plus the URL without `/_history/v`
//                          or without a canonical's `|version`;
//                        - contained `#x` -> nothing (not searchable).
//                        Bare ids contain no '/' or ':', so they never collide with the others.
//   "<code>:identifier": {"s": system | null, "c": value} of Reference.identifier (token shape).
// Absolute references are matched exactly as written: a stored `http://this-server/fhir/
// Patient/1` is not recognised as `Patient/1` (the base URL is not known when indexing).
import { isResourceType } from '../../core/resource-types.js';
import type { ParamTypeModule, ParsedValue, SearchIndex, SearchParamDef, SqlBinds } from '../types.js';
import {
  addEntries, checkModifier, cleanValue, containsMatch, containsSql, invalid, isObject, missingMatch, missingSql,
  parseMissing, stringEntries, unescapeValue, unsupported, textSortExpression, STRING_ENTRY, IS_STRING_ENTRY,
} from './shared.js';
import { parseTokenEntry, type TokenEntry } from './token.js';

export interface ReferenceValue extends ParsedValue {
  /** The entry to look for under "<code>" (a reference string or a bare id). */
  ref?: string;
  /** :identifier */
  identifier?: TokenEntry;
}

/** `:[Type]` is a modifier too (parse-query accepts any capitalised name for references). */
const MODIFIERS = ['identifier', 'above', 'below'];

const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE = new RegExp(`^([A-Z][A-Za-z]+)/(${ID})(?:/_history/(${ID}))?$`);
const BARE_ID = new RegExp(`^${ID}$`);
/** A URI scheme: absolute URLs, urn:uuid:, urn:oid: (RFC 3986 section 3.1). */
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

const isTarget = (def: SearchParamDef, type: string): boolean => def.targets.length === 0 || def.targets.includes(type);

// ---------------------------------------------------------------------------------------
// Index

/** The "<code>" entries for one reference string (see the header). */
export function referenceEntries(def: SearchParamDef, reference: string): string[] {
  if (reference === '' || reference.startsWith('#')) return [];
  const relative = RELATIVE.exec(reference);
  if (relative) {
    const [, type, id] = relative;
    return isTarget(def, type) ? [reference, `${type}/${id}`, id] : [reference, `${type}/${id}`];
  }
  // Any other relative form is kept as written if it has a '/', so it cannot pass for a bare id.
  if (!ABSOLUTE.test(reference)) return reference.includes('/') ? [reference] : [];
  const unversioned = reference.replace(/\/_history\/[^/]+$/, '').replace(/\|[^|/]*$/, '');
  return [reference, unversioned];
}

function index(def: SearchParamDef, values: unknown[], into: SearchIndex): void {
  const refs: string[] = [];
  const identifiers: TokenEntry[] = [];
  for (const value of values) {
    if (typeof value === 'string') refs.push(...referenceEntries(def, value)); // canonical / uri
    if (!isObject(value)) continue;
    if (typeof value.reference === 'string') refs.push(...referenceEntries(def, value.reference));
    const identifier = isObject(value.identifier) ? value.identifier : undefined;
    if (identifier && typeof identifier.value === 'string' && identifier.value !== '') {
      const system = typeof identifier.system === 'string' && identifier.system !== '' ? identifier.system : null;
      identifiers.push({ s: system, c: identifier.value });
    }
  }
  addEntries(into, def.code, refs);
  addEntries(into, `${def.code}:identifier`, identifiers);
}

/**
 * The local targets of a reference parameter in an index: `{type, id}` for every relative
 * `Type/id` entry, whatever the type (versioned references also stored that unversioned form). For chaining and _include, which need the ids to
 * follow without re-reading the resource.
 */
export function referenceTargets(index: SearchIndex, def: SearchParamDef): { type: string; id: string }[] {
  const out: { type: string; id: string }[] = [];
  for (const entry of stringEntries(index, def.code)) {
    const match = RELATIVE.exec(entry);
    if (match && match[3] === undefined) out.push({ type: match[1], id: match[2] });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Query

function checkTarget(def: SearchParamDef, modifier: string | undefined, type: string): void {
  if (!isResourceType(type)) throw invalid(def, modifier, `'${type}' is not a resource type`);
  if (!isTarget(def, type)) throw invalid(def, modifier, `${type} is not a target of this parameter (${def.targets.join(', ')})`);
}

/** `:[Type]`: the value is an id, or `Type/id` of that same type. */
function parseTyped(def: SearchParamDef, modifier: string, value: string): string {
  checkTarget(def, modifier, modifier);
  if (BARE_ID.test(value)) return `${modifier}/${value}`;
  const relative = RELATIVE.exec(value);
  if (relative && relative[1] === modifier) return value;
  throw invalid(def, modifier, `expected a ${modifier} id, got '${value}'`);
}

function parseReference(def: SearchParamDef, modifier: string | undefined, value: string): string {
  if (value.startsWith('#')) throw invalid(def, modifier, 'references to contained resources are not searchable');
  if (BARE_ID.test(value)) return value;
  const relative = RELATIVE.exec(value);
  if (relative) {
    checkTarget(def, modifier, relative[1]);
    return value;
  }
  if (ABSOLUTE.test(value) && !/\s/.test(value)) return value;
  throw invalid(def, modifier, `'${value}' is not an id, Type/id or absolute URL`);
}

function parse(def: SearchParamDef, modifier: string | undefined, raw: string): ReferenceValue {
  if (modifier === undefined || !/^[A-Z]/.test(modifier)) checkModifier(def, modifier, MODIFIERS);
  if (modifier === 'missing') return parseMissing(def, raw);
  if (modifier === 'above' || modifier === 'below') throw unsupported(def, modifier, 'it needs hierarchy traversal');
  if (raw === '') throw invalid(def, modifier, 'a value is required');
  if (modifier === 'identifier') return { raw, identifier: parseTokenEntry(def, modifier, raw) };
  const value = cleanValue(def, modifier, unescapeValue(raw));
  return { raw, ref: modifier === undefined ? parseReference(def, modifier, value) : parseTyped(def, modifier, value) };
}

const missingKeys = (def: SearchParamDef) => [def.code, `${def.code}:identifier`];

function predicate(def: SearchParamDef, modifier: string | undefined, values: ReferenceValue[], sp: string, binds: SqlBinds): string {
  if (modifier === 'missing') return missingSql(sp, missingKeys(def), values);
  if (modifier === 'identifier') return containsSql(sp, binds, `${def.code}:identifier`, values.flatMap((v) => v.identifier ?? []));
  return containsSql(sp, binds, def.code, values.flatMap((v) => v.ref ?? []));
}

function matches(def: SearchParamDef, modifier: string | undefined, values: ReferenceValue[], index: SearchIndex): boolean {
  if (modifier === 'missing') return missingMatch(index, missingKeys(def), values);
  if (modifier === 'identifier') return containsMatch(index, `${def.code}:identifier`, values.flatMap((v) => v.identifier ?? []));
  return containsMatch(index, def.code, values.flatMap((v) => v.ref ?? []));
}

/**
 * ORDER BY key: the reference strings as written, unversioned (`Patient/1`, an absolute URL):
 * the "<code>" entries except the bare ids (no '/' or ':') and the `/_history/` forms that
 * indexing adds beside them. asc = the smallest, desc = the largest; NULL when the parameter
 * has none (e.g. a reference known only by identifier, or to a contained resource).
 */
export function sortExpression(def: SearchParamDef, sp: string, direction: 'asc' | 'desc'): string {
  const where = `${IS_STRING_ENTRY} AND (strpos(${STRING_ENTRY}, '/') > 0 OR strpos(${STRING_ENTRY}, ':') > 0) AND strpos(${STRING_ENTRY}, '/_history/') = 0`;
  return textSortExpression(def.code, sp, direction, STRING_ENTRY, where);
}

export const referenceParam: ParamTypeModule<ReferenceValue> = {
  type: 'reference',
  modifiers: MODIFIERS,
  index,
  parse,
  predicate,
  matches,
  sort: { kind: 'text', expression: sortExpression },
};
