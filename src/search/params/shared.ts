// Helpers shared by the token, reference, uri and string modules (FHIR R4 search.html
// #escaping, #modifiers, #missing): value unescaping, text normalization, and the two SQL
// shapes every predicate is built from — jsonb containment (`sp @> $n::jsonb`, served by the
// GIN jsonb_path_ops index) and jsonpath rechecks — together with their in-memory twins, so
// that the SQL and the matcher of each module share one definition of "match".
import { badRequest, FhirError } from '../../core/errors.js';
import type { ParsedValue, SearchIndex, SearchParamDef, SqlBinds } from '../types.js';

/** The parameter as the client wrote it (`code` or `code:modifier`), for error expressions. */
export const paramName = (def: SearchParamDef, modifier: string | undefined): string =>
  modifier === undefined ? def.code : `${def.code}:${modifier}`;

/** 400 naming the parameter (search.html#errors). */
export const invalid = (def: SearchParamDef, modifier: string | undefined, message: string): FhirError =>
  badRequest(`${paramName(def, modifier)}: ${message}`, [paramName(def, modifier)]);

/** 400 not-supported naming the parameter, for modifiers that wait on another feature. */
export const unsupported = (def: SearchParamDef, modifier: string, why: string): FhirError =>
  new FhirError(400, {
    code: 'not-supported',
    diagnostics: `${paramName(def, modifier)}: modifier ':${modifier}' is not supported yet (${why})`,
    expression: [paramName(def, modifier)],
  });

/** Throws unless `modifier` is absent or one of `allowed` (a direct caller may skip parse-query's check). */
export function checkModifier(def: SearchParamDef, modifier: string | undefined, allowed: readonly string[]): void {
  if (modifier !== undefined && modifier !== 'missing' && !allowed.includes(modifier)) {
    throw invalid(def, modifier, `modifier ':${modifier}' is not valid for ${def.type} parameters`);
  }
}

/** `:missing` takes exactly true or false (search.html#missing). */
export function parseMissing(def: SearchParamDef, raw: string): ParsedValue {
  if (raw !== 'true' && raw !== 'false') throw invalid(def, 'missing', `must be true or false, not '${raw}'`);
  return { raw };
}

/**
 * Splits on `separator` where it is not escaped with a backslash, then unescapes each part
 * (search.html#escaping). parse-query has already split on unescaped commas.
 */
export function splitUnescaped(raw: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && i + 1 < raw.length) {
      current += raw[i] + raw[i + 1];
      i++;
    } else if (raw[i] === separator) {
      parts.push(unescapeValue(current));
      current = '';
    } else current += raw[i];
  }
  parts.push(unescapeValue(current));
  return parts;
}

/** `\,` `\|` `\$` `\\` become the character; any other backslash is kept as written. */
export const unescapeValue = (raw: string): string => raw.replace(/\\([\\,|$])/g, '$1');

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses what PostgreSQL's jsonb cannot hold (NUL, lone surrogates), so a bad value is a
 * 400 rather than a database error. Returns the value.
 */
export function cleanValue(def: SearchParamDef, modifier: string | undefined, value: string): string {
  if (!isStorableText(value)) throw invalid(def, modifier, 'the value contains invalid characters');
  return value;
}

/** False for strings PostgreSQL text and jsonb cannot hold: a NUL or a lone surrogate. */
export const isStorableText = (value: string): boolean => !value.includes('\u0000') && !LONE_SURROGATE.test(value);

/**
 * Case- and accent-insensitive form of a string (search.html#string): lower case, canonical
 * decomposition with the combining marks removed, whitespace runs collapsed to one space.
 * Lower-casing first, so that e.g. U+0130 (İ) decomposes to a mark that is then dropped.
 */
export function normalizeText(value: string): string {
  return value
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

// ---------------------------------------------------------------------------------------
// Index writing

/** Appends entries under `key`, skipping duplicates (compared as JSON). */
export function addEntries(into: SearchIndex, key: string, entries: readonly unknown[]): void {
  if (entries.length === 0) return;
  const list = into[key];
  if (list === undefined && entries.length === 1) {
    into[key] = [entries[0]];
    return;
  }
  const target = list ?? (into[key] = []);
  // Strings (most entries) are their own identity; objects compare by their JSON text.
  const seenStrings = new Set<string>();
  const seenJson = new Set<string>();
  const isNew = (e: unknown) => {
    const set = typeof e === 'string' ? seenStrings : seenJson;
    const id = typeof e === 'string' ? e : JSON.stringify(e);
    if (set.has(id)) return false;
    set.add(id);
    return true;
  };
  for (const e of target) isNew(e);
  for (const entry of entries) if (isNew(entry)) target.push(entry);
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The non-empty strings among a value that may be a string or an array of them. */
export function stringsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is string => typeof v === 'string' && v !== '');
}

// ---------------------------------------------------------------------------------------
// SQL building. Keys come only from def.code; they are written into jsonpath literals as
// JSON strings (which jsonpath accepts: `\"` and `\\` escaped) inside a SQL string literal
// (`'` doubled). Values are always bind parameters.

/** `$."key"`: a jsonpath accessor for an index key, quoted so any code is safe. */
export const jsonPathKey = (key: string): string => `$.${jsonPathString(key)}`;

/** A jsonpath string literal; JSON string syntax is a subset of jsonpath's. */
export const jsonPathString = (text: string): string => JSON.stringify(text);

/** A SQL string literal (standard_conforming_strings, the PostgreSQL default since 9.1). */
export const sqlLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** `a OR b OR ...` in parentheses; `false` for no alternatives. */
export const anyOf = (terms: string[]): string => (terms.length === 0 ? 'false' : `(${terms.join(' OR ')})`);

/** True when the index holds any of `entries` under `key`: one GIN-served `@>` per entry. */
export function containsSql(sp: string, binds: SqlBinds, key: string, entries: readonly unknown[]): string {
  return anyOf(entries.map((entry) => `${sp} @> ${binds.add(JSON.stringify({ [key]: [entry] }))}::jsonb`));
}

/**
 * True when some entry under `key` satisfies `condition` (a jsonpath filter over `@`, with
 * `$name` variables taken from `vars`, which are bound as one jsonb value).
 */
export function pathExistsSql(sp: string, binds: SqlBinds, key: string, condition: string, vars: Record<string, unknown>): string {
  const path = sqlLiteral(`${jsonPathKey(key)}[*] ? (${condition})`);
  return `jsonb_path_exists(${sp}, ${path}, ${binds.add(JSON.stringify(vars))}::jsonb)`;
}

/** True when some string entry under `key` starts with one of `prefixes` (variables $v0, $v1, ...). */
export function startsWithSql(sp: string, binds: SqlBinds, key: string, prefixes: readonly string[]): string {
  const vars = Object.fromEntries(prefixes.map((prefix, i) => [`v${i}`, prefix]));
  const condition = Object.keys(vars).map((name) => `@ starts with $${name}`).join(' || ') || 'false';
  return pathExistsSql(sp, binds, key, condition, vars);
}

/**
 * ORDER BY key over the entries under `key` (search.html#sort): asc = the smallest, desc = the
 * largest, compared byte-wise (COLLATE "C", so the order does not depend on the database's
 * locale and is the same in both database modes); NULL when no entry qualifies. `text` turns
 * one entry (`sp_entry.e`, jsonb) into text, `where` keeps only the entries that count.
 * No user input in the text.
 */
export function textSortExpression(key: string, sp: string, direction: 'asc' | 'desc', text: string, where: string): string {
  const k = sqlLiteral(key);
  const list = `CASE WHEN jsonb_typeof(${sp} -> ${k}) = 'array' THEN ${sp} -> ${k} END`;
  const fn = direction === 'asc' ? 'min' : 'max';
  return `(SELECT ${fn}((${text}) COLLATE "C") FROM jsonb_array_elements(${list}) AS sp_entry(e) WHERE ${where})`;
}

/** A string entry's text, for textSortExpression. */
export const STRING_ENTRY = `sp_entry.e #>> '{}'`;
export const IS_STRING_ENTRY = `jsonb_typeof(sp_entry.e) = 'string'`;

/** NOT that also holds when `sp` is NULL (a row not reindexed yet has no entries). */
export const notSql = (predicate: string): string => `NOT COALESCE(${predicate}, false)`;

/** `:missing=true|false` over the keys that make up a parameter's value (search.html#missing). */
export function missingSql(sp: string, keys: readonly string[], values: readonly ParsedValue[]): string {
  const present = anyOf(keys.map((key) => `jsonb_path_exists(${sp}, ${sqlLiteral(`${jsonPathKey(key)}[*]`)})`));
  return values[0]?.raw === 'true' ? notSql(present) : present;
}

// ---------------------------------------------------------------------------------------
// In-memory twins

/** jsonb containment (`a @> b`) as PostgreSQL defines it, for the JSON shapes of an index. */
export function jsonContains(a: unknown, b: unknown): boolean {
  if (Array.isArray(b)) return Array.isArray(a) && b.every((x) => a.some((y) => jsonContains(y, x)));
  if (isObject(b)) return isObject(a) && Object.entries(b).every(([k, v]) => k in a && jsonContains(a[k], v));
  return a === b;
}

/** In-memory `containsSql`. */
export function containsMatch(index: SearchIndex, key: string, entries: readonly unknown[]): boolean {
  const list = index[key] ?? [];
  return entries.some((entry) => list.some((stored) => jsonContains(stored, entry)));
}

/** The string entries under `key`. */
export const stringEntries = (index: SearchIndex, key: string): string[] =>
  (index[key] ?? []).filter((e): e is string => typeof e === 'string');

/** In-memory `startsWithSql`. */
export function startsWithMatch(index: SearchIndex, key: string, prefixes: readonly string[]): boolean {
  const stored = stringEntries(index, key);
  return prefixes.some((prefix) => stored.some((entry) => entry.startsWith(prefix)));
}

/** In-memory `missingSql`. */
export function missingMatch(index: SearchIndex, keys: readonly string[], values: readonly ParsedValue[]): boolean {
  const present = keys.some((key) => (index[key] ?? []).length > 0);
  return values[0]?.raw === 'true' ? !present : present;
}
