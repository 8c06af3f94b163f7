// URI search parameters (FHIR R4 search.html#uri, #modifiers, #escaping): exact,
// case-sensitive match by default; :below and :above compare whole path segments, so
// `url:below=http://acme.org/fhir` matches `http://acme.org/fhir/ValueSet/1` but not
// `http://acme.org/fhirx`. Everything is answered by containment.
//
// Index entries (src/search/types.ts):
//   "<code>":       the URI as written (default match and :above).
//   "<code>:below": the URI without a trailing '/' and each of its path ancestors, down to
//                   `scheme://authority` (e.g. `http://a.org/fhir/ValueSet/1` also stores
//                   `http://a.org/fhir/ValueSet`, `http://a.org/fhir`, `http://a.org`);
//                   `:below=X` is then the probe X (trailing '/' dropped).
// :above=X is the probe set {X and its ancestors, each with and without a trailing '/'} on
// "<code>": the stored URI must be X or a segment-wise prefix of it. URNs (urn:oid:...)
// have no segments, so :above/:below on them are exact matches.
import type { ParamTypeModule, ParsedValue, SearchIndex, SearchParamDef, SqlBinds } from '../types.js';
import {
  addEntries, checkModifier, cleanValue, containsMatch, containsSql, invalid, missingMatch, missingSql, parseMissing,
  unescapeValue, textSortExpression, STRING_ENTRY, IS_STRING_ENTRY,
} from './shared.js';

export interface UriValue extends ParsedValue {
  uri?: string;
}

const MODIFIERS = ['below', 'above'];

/** Drops one trailing '/', unless only the scheme (`http://`) or nothing would be left. */
const trimSlash = (uri: string): string => (uri.length > 1 && uri.endsWith('/') && !uri.endsWith('://') ? uri.slice(0, -1) : uri);

/** Path-segment ancestors of a URI, nearest first, none shorter than `scheme://authority`. */
export function uriAncestors(uri: string): string[] {
  const trimmed = trimSlash(uri);
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(trimmed)?.[0] ?? '';
  const queryAt = trimmed.search(/[?#]/);
  const pathEnd = queryAt < 0 ? trimmed.length : queryAt;
  const out: string[] = [];
  for (let i = pathEnd - 1; i >= Math.max(authority.length, 1); i--) {
    if (trimmed[i] === '/') out.push(trimmed.slice(0, i));
  }
  return out;
}

/** The probes for `:above=uri` (see the header). */
function aboveCandidates(uri: string): string[] {
  const bases = [trimSlash(uri), ...uriAncestors(uri)];
  return [...new Set([uri, ...bases.flatMap((b) => [b, `${b}/`])])];
}

function index(def: SearchParamDef, values: unknown[], into: SearchIndex): void {
  const uris = values.filter((v): v is string => typeof v === 'string' && v !== '');
  addEntries(into, def.code, uris);
  addEntries(into, `${def.code}:below`, uris.flatMap((u) => [trimSlash(u), ...uriAncestors(u)]));
}

function parse(def: SearchParamDef, modifier: string | undefined, raw: string): UriValue {
  checkModifier(def, modifier, MODIFIERS);
  if (modifier === 'missing') return parseMissing(def, raw);
  if (raw === '') throw invalid(def, modifier, 'a URI is required');
  return { raw, uri: cleanValue(def, modifier, unescapeValue(raw)) };
}

/** The key and containment probes a query stands for. */
function probes(def: SearchParamDef, modifier: string | undefined, values: UriValue[]): [string, string[]] {
  const uris = values.flatMap((v) => v.uri ?? []);
  if (modifier === 'below') return [`${def.code}:below`, uris.map(trimSlash)];
  if (modifier === 'above') return [def.code, [...new Set(uris.flatMap(aboveCandidates))]];
  return [def.code, uris];
}

function predicate(def: SearchParamDef, modifier: string | undefined, values: UriValue[], sp: string, binds: SqlBinds): string {
  if (modifier === 'missing') return missingSql(sp, [def.code], values);
  const [key, entries] = probes(def, modifier, values);
  return containsSql(sp, binds, key, entries);
}

function matches(def: SearchParamDef, modifier: string | undefined, values: UriValue[], index: SearchIndex): boolean {
  if (modifier === 'missing') return missingMatch(index, [def.code], values);
  const [key, entries] = probes(def, modifier, values);
  return containsMatch(index, key, entries);
}

/** ORDER BY key: the URIs as written (case-sensitive); asc = the smallest, desc = the largest; NULL when missing. */
export function sortExpression(def: SearchParamDef, sp: string, direction: 'asc' | 'desc'): string {
  return textSortExpression(def.code, sp, direction, STRING_ENTRY, IS_STRING_ENTRY);
}

export const uriParam: ParamTypeModule<UriValue> = {
  type: 'uri',
  modifiers: MODIFIERS,
  index,
  parse,
  predicate,
  matches,
  sort: { kind: 'text', expression: sortExpression },
};
