// Token search parameters (FHIR R4 search.html#token, #modifiers, #escaping): exact,
// case-sensitive matching of codes and identifiers, with or without their system.
//
// Index entries (src/search/types.ts), all served by containment except :text:
//   "<code>":         {"s": system | null, "c": code}, one per Coding, Identifier
//                     (c = value), ContactPoint (s = null: its system is a kind, not a
//                     namespace), or code/string/uri/id/boolean primitive (s = null;
//                     booleans as "true"/"false"). A Coding/Identifier with a system but no
//                     code/value stores {"s": system}.
//   "<code>:text":    normalizeText() of CodeableConcept.text, Coding.display and
//                     Identifier.type.text, for :text (a prefix match, jsonpath `starts with`).
//   "<code>:of-type": {"s": type system | null, "c": type code, "v": identifier value}, one per
//                     Identifier.type.coding, for :of-type.
// A query is a containment probe: `code` -> {"c"}, `system|code` -> {"s","c"}, `|code` ->
// {"s": null, "c"}, `system|` -> {"s"}; jsonb containment ignores the fields left out.
import type { ParamTypeModule, ParsedValue, SearchIndex, SearchParamDef, SqlBinds } from '../types.js';
import {
  addEntries, checkModifier, cleanValue, containsMatch, containsSql, invalid, isObject, missingMatch, missingSql,
  normalizeText, notSql, parseMissing, splitUnescaped, startsWithMatch, startsWithSql, stringsOf, unescapeValue, unsupported,
  textSortExpression,
} from './shared.js';

/** A containment probe / index entry of the main key. */
export interface TokenEntry {
  s?: string | null;
  c?: string;
}

export interface OfTypeEntry {
  s: string | null;
  c: string;
  v: string;
}

export interface TokenValue extends ParsedValue {
  /** Default and :not. */
  entry?: TokenEntry;
  /** :text, normalized. */
  text?: string;
  /** :of-type. */
  ofType?: OfTypeEntry;
}

/** Terminology-based modifiers: accepted by name so the client hears "not supported yet". */
const TERMINOLOGY_MODIFIERS = ['in', 'not-in', 'above', 'below'];
const MODIFIERS = ['not', 'text', 'of-type', ...TERMINOLOGY_MODIFIERS];

/** ContactPoint.system codes (R4 valueset-contact-point-system). */
const CONTACT_SYSTEMS = new Set(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']);

// ---------------------------------------------------------------------------------------
// Index

interface Collected {
  entries: TokenEntry[];
  texts: string[];
  ofType: OfTypeEntry[];
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** {"s","c"} for a system/code pair, or undefined when both are absent. */
function entryOf(system: unknown, code: unknown): TokenEntry | undefined {
  const s = str(system);
  const c = str(code);
  if (c !== undefined) return { s: s ?? null, c };
  return s !== undefined ? { s } : undefined;
}

function collectCoding(coding: Record<string, unknown>, out: Collected): void {
  const entry = entryOf(coding.system, coding.code);
  if (entry) out.entries.push(entry);
  out.texts.push(...stringsOf(coding.display));
}

function collectIdentifier(identifier: Record<string, unknown>, out: Collected): void {
  const entry = entryOf(identifier.system, identifier.value);
  if (entry) out.entries.push(entry);
  const type = isObject(identifier.type) ? identifier.type : {};
  out.texts.push(...stringsOf(type.text));
  const value = str(identifier.value);
  if (value === undefined || !Array.isArray(type.coding)) return;
  for (const coding of type.coding.filter(isObject)) {
    const code = str(coding.code);
    if (code !== undefined) out.ofType.push({ s: str(coding.system) ?? null, c: code, v: value });
  }
}

/** Sorts one extracted element into entries by its FHIR data type (told apart by its fields). */
function collect(value: unknown, out: Collected): void {
  if (typeof value === 'boolean' || typeof value === 'number') out.entries.push({ s: null, c: String(value) });
  else if (typeof value === 'string') {
    if (value !== '') out.entries.push({ s: null, c: value });
  } else if (!isObject(value)) return;
  else if (Array.isArray(value.coding) || ('text' in value && !('value' in value))) {
    // CodeableConcept
    for (const coding of Array.isArray(value.coding) ? value.coding.filter(isObject) : []) collectCoding(coding, out);
    out.texts.push(...stringsOf(value.text));
  } else if ('value' in value && typeof value.system === 'string' && CONTACT_SYSTEMS.has(value.system) && !('type' in value)) {
    const entry = entryOf(undefined, value.value); // ContactPoint: the value alone
    if (entry) out.entries.push(entry);
  } else if ('value' in value || 'type' in value || 'assigner' in value) collectIdentifier(value, out);
  else collectCoding(value, out);
}

function index(def: SearchParamDef, values: unknown[], into: SearchIndex): void {
  const out: Collected = { entries: [], texts: [], ofType: [] };
  for (const value of values) collect(value, out);
  // A `code` element's code also under its bound system, so `system|code` finds it; the entry
  // without a system stays, so `code` and `|code` still do (search.html#token).
  if (def.codeSystem) {
    for (const entry of [...out.entries]) if (entry.s === null && entry.c !== undefined) out.entries.push({ s: def.codeSystem, c: entry.c });
  }
  addEntries(into, def.code, out.entries);
  addEntries(into, `${def.code}:text`, out.texts.map(normalizeText).filter((t) => t !== ''));
  addEntries(into, `${def.code}:of-type`, out.ofType);
}

// ---------------------------------------------------------------------------------------
// Query

/** Parses `code`, `system|code`, `|code` or `system|` (search.html#token) into a probe. */
export function parseTokenEntry(def: SearchParamDef, modifier: string | undefined, raw: string): TokenEntry {
  const parts = splitUnescaped(raw, '|').map((p) => cleanValue(def, modifier, p));
  if (parts.length === 1) {
    if (parts[0] === '') throw invalid(def, modifier, 'a token needs a code');
    return { c: parts[0] };
  }
  if (parts.length > 2) throw invalid(def, modifier, `'${raw}' has more than one '|' (escape a literal '|' as '\\|')`);
  const [system, code] = parts;
  if (system === '' && code === '') throw invalid(def, modifier, "'|' alone matches nothing: give a system or a code");
  if (code === '') return { s: system };
  return { s: system === '' ? null : system, c: code };
}

function parseOfType(def: SearchParamDef, raw: string): OfTypeEntry {
  const parts = splitUnescaped(raw, '|').map((p) => cleanValue(def, 'of-type', p));
  if (parts.length !== 3 || parts[1] === '' || parts[2] === '') {
    throw invalid(def, 'of-type', `expected [type-system]|[type-code]|[value], got '${raw}'`);
  }
  return { s: parts[0] === '' ? null : parts[0], c: parts[1], v: parts[2] };
}

function parse(def: SearchParamDef, modifier: string | undefined, raw: string): TokenValue {
  checkModifier(def, modifier, MODIFIERS);
  if (modifier === 'missing') return parseMissing(def, raw);
  if (modifier !== undefined && TERMINOLOGY_MODIFIERS.includes(modifier)) {
    throw unsupported(def, modifier, 'it needs terminology services');
  }
  if (raw === '') throw invalid(def, modifier, 'a value is required');
  if (modifier === 'text') {
    const text = normalizeText(cleanValue(def, modifier, unescapeValue(raw)));
    if (text === '') throw invalid(def, modifier, 'a text is required');
    return { raw, text };
  }
  if (modifier === 'of-type') return { raw, ofType: parseOfType(def, raw) };
  return { raw, entry: parseTokenEntry(def, modifier, raw) };
}

const defined = <T>(list: (T | undefined)[]): T[] => list.filter((x): x is T => x !== undefined);

function predicate(def: SearchParamDef, modifier: string | undefined, values: TokenValue[], sp: string, binds: SqlBinds): string {
  switch (modifier) {
    case 'missing':
      return missingSql(sp, [def.code, `${def.code}:text`], values);
    case 'text':
      return startsWithSql(sp, binds, `${def.code}:text`, defined(values.map((v) => v.text)));
    case 'of-type':
      return containsSql(sp, binds, `${def.code}:of-type`, defined(values.map((v) => v.ofType)));
    default: {
      const positive = containsSql(sp, binds, def.code, defined(values.map((v) => v.entry)));
      // :not = none of the values matches, including resources without the element
      // (search.html#modifiers); `code:not=a,b` excludes both a and b.
      return modifier === 'not' ? notSql(positive) : positive;
    }
  }
}

function matches(def: SearchParamDef, modifier: string | undefined, values: TokenValue[], index: SearchIndex): boolean {
  switch (modifier) {
    case 'missing':
      return missingMatch(index, [def.code, `${def.code}:text`], values);
    case 'text':
      return startsWithMatch(index, `${def.code}:text`, defined(values.map((v) => v.text)));
    case 'of-type':
      return containsMatch(index, `${def.code}:of-type`, defined(values.map((v) => v.ofType)));
    default: {
      const positive = containsMatch(index, def.code, defined(values.map((v) => v.entry)));
      return modifier === 'not' ? !positive : positive;
    }
  }
}

/**
 * ORDER BY key: the codes ("c": Coding.code, Identifier.value, the primitive itself), compared
 * case-sensitively as tokens are matched; the system is ignored, and display/text are not used
 * (optional, language-dependent, and not what the parameter matches). asc = the smallest code,
 * desc = the largest; NULL when the parameter has no code (e.g. only a text or a system).
 */
export function sortExpression(def: SearchParamDef, sp: string, direction: 'asc' | 'desc'): string {
  return textSortExpression(def.code, sp, direction, `sp_entry.e ->> 'c'`, `jsonb_typeof(sp_entry.e) = 'object'`);
}

export const tokenParam: ParamTypeModule<TokenValue> = {
  type: 'token',
  modifiers: MODIFIERS,
  index,
  parse,
  predicate,
  matches,
  sort: { kind: 'text', expression: sortExpression },
};
