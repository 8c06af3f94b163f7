// String search parameters (FHIR R4 search.html#string, #modifiers, #escaping): by default a
// case- and accent-insensitive match on the start of the value; :contains anywhere in it;
// :exact the whole value, case- and accent-sensitively.
//
// Index entries (src/search/types.ts):
//   "<code>":       normalizeText() of every string (lower case, accents removed, whitespace
//                   collapsed); read by jsonpath `starts with` (default) and `like_regex`
//                   (:contains), which the GIN index cannot serve (ADR 0005).
//   "<code>:exact": the same strings as written, for :exact by containment.
//   "<code>:prefix": the first 2, 3, 4, 6 and 8 characters of every normalized string (as far
//                   as it is long), so that a prefix search has a GIN condition: a value of
//                   length n is looked up by its longest stored prefix (at most n), then
//                   checked with `starts with` unless n is itself a stored length. Values of
//                   one character have no index aid.
//                   Migration 0008 adds these entries to rows indexed before them.
// A HumanName contributes family, given, prefix, suffix and text (so `name=` matches any
// part); an Address line, city, district, state, postalCode, country and text.
import type { ParamTypeModule, ParsedValue, SearchIndex, SearchParamDef, SqlBinds } from '../types.js';
import {
  addEntries, checkModifier, cleanValue, containsMatch, containsSql, invalid, isObject, jsonPathKey, jsonPathString,
  missingMatch, missingSql, normalizeText, parseMissing, startsWithMatch, startsWithSql, stringEntries, stringsOf,
  unescapeValue, textSortExpression, STRING_ENTRY, IS_STRING_ENTRY,
} from './shared.js';

export interface StringValue extends ParsedValue {
  /** Normalized for the default match and :contains; as given for :exact. */
  text?: string;
}

const MODIFIERS = ['exact', 'contains'];

const HUMAN_NAME_PARTS = ['family', 'given', 'prefix', 'suffix', 'text'];
const ADDRESS_PARTS = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'];

/** The strings a value is searched by: itself, or the parts of a HumanName or Address. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!isObject(value)) return [];
  const isAddress = ADDRESS_PARTS.some((part) => part !== 'text' && part in value);
  return (isAddress ? ADDRESS_PARTS : HUMAN_NAME_PARTS).flatMap((part) => stringsOf(value[part]));
}

/** Prefix lengths stored under "<code>:prefix" (kept in step with migration 0008). */
export const PREFIX_LENGTHS = [2, 3, 4, 6, 8] as const;

/** The stored prefix a search for `text` is looked up by; undefined when it is too short. */
export function prefixKey(text: string): string | undefined {
  const chars = [...text];
  const length = [...PREFIX_LENGTHS].reverse().find((n) => n <= chars.length);
  return length === undefined ? undefined : chars.slice(0, length).join('');
}

/** Every stored prefix of a normalized string, counted in code points as PostgreSQL's left(). */
export function prefixEntries(text: string): string[] {
  const chars = [...text];
  return PREFIX_LENGTHS.filter((n) => n <= chars.length).map((n) => chars.slice(0, n).join(''));
}

function index(def: SearchParamDef, values: unknown[], into: SearchIndex): void {
  const strings = values.flatMap(stringsIn);
  const normalized = strings.map(normalizeText).filter((s) => s !== '');
  addEntries(into, def.code, normalized);
  addEntries(into, `${def.code}:exact`, strings);
  if (!def.componentSlot) addEntries(into, `${def.code}:prefix`, normalized.flatMap(prefixEntries));
}

function parse(def: SearchParamDef, modifier: string | undefined, raw: string): StringValue {
  checkModifier(def, modifier, MODIFIERS);
  if (modifier === 'missing') return parseMissing(def, raw);
  const value = cleanValue(def, modifier, unescapeValue(raw));
  const text = modifier === 'exact' ? value : normalizeText(value);
  if (text === '') throw invalid(def, modifier, 'a value is required');
  return { raw, text };
}

/**
 * A POSIX regular expression (PostgreSQL's like_regex) matching `text` literally: every ASCII
 * punctuation character is backslash-escaped (`\` before a non-alphanumeric is always that
 * character); letters, digits, spaces and non-ASCII characters stand for themselves.
 */
export const regexLiteral = (text: string): string => text.replace(/[!-/:-@[-`{-~]/g, '\\$&');

const texts = (values: StringValue[]): string[] => values.flatMap((v) => v.text ?? []);

function predicate(def: SearchParamDef, modifier: string | undefined, values: StringValue[], sp: string, binds: SqlBinds): string {
  if (modifier === 'missing') return missingSql(sp, [def.code], values);
  if (modifier === 'exact') return containsSql(sp, binds, `${def.code}:exact`, texts(values));
  if (modifier === 'contains') {
    // like_regex takes no variables: the whole jsonpath, user text included, is one bind.
    const regexes = texts(values).map((t) => `@ like_regex ${jsonPathString(regexLiteral(t))}`);
    const path = `${jsonPathKey(def.code)}[*] ? (${regexes.join(' || ') || 'false'})`;
    return `jsonb_path_exists(${sp}, ${binds.add(path)}::jsonpath)`;
  }
  return prefixSearchSql(def, sp, binds, texts(values));
}

/**
 * The default match: `starts with`, which no index serves, behind a containment test on the
 * stored prefixes, which the GIN index does. When every value is exactly a stored length the
 * containment is the whole test; otherwise `starts with` checks what the prefix found. Without
 * a usable prefix (a one-character value), or inside a composite's tuple (no prefix entries
 * there, and no index to serve them), only `starts with` is written.
 */
function prefixSearchSql(def: SearchParamDef, sp: string, binds: SqlBinds, values: string[]): string {
  const keys = values.map(prefixKey);
  if (def.componentSlot || keys.length === 0 || keys.some((k) => k === undefined)) return startsWithSql(sp, binds, def.code, values);
  const lookup = containsSql(sp, binds, `${def.code}:prefix`, [...new Set(keys as string[])]);
  if (keys.every((k, i) => k === values[i])) return lookup;
  return `(${lookup} AND ${startsWithSql(sp, binds, def.code, values)})`;
}

function matches(def: SearchParamDef, modifier: string | undefined, values: StringValue[], index: SearchIndex): boolean {
  if (modifier === 'missing') return missingMatch(index, [def.code], values);
  if (modifier === 'exact') return containsMatch(index, `${def.code}:exact`, texts(values));
  if (modifier === 'contains') {
    const stored = stringEntries(index, def.code);
    return texts(values).some((t) => stored.some((s) => s.includes(t)));
  }
  return startsWithMatch(index, def.code, texts(values));
}

/**
 * ORDER BY key: the normalized strings under "<code>" (so case and accents do not affect the
 * order); asc = the smallest, desc = the largest; NULL when missing. A HumanName or Address
 * counts with all its parts, e.g. `_sort=name` orders by the smallest of family, given, ...
 */
export function sortExpression(def: SearchParamDef, sp: string, direction: 'asc' | 'desc'): string {
  return textSortExpression(def.code, sp, direction, STRING_ENTRY, IS_STRING_ENTRY);
}

export const stringParam: ParamTypeModule<StringValue> = {
  type: 'string',
  modifiers: MODIFIERS,
  index,
  parse,
  predicate,
  matches,
  sort: { kind: 'text', expression: sortExpression },
};
