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
//
// Terminology modifiers (search.html#modifiers, issue 12) probe the same entries with codes
// drawn in SQL from concept storage, never sent from Node: `:below`/`:above` (system|code) from
// the is-a closure of the code system's version resolved before SQL (terminology-plan.ts),
// `:in`/`:not-in` (a ValueSet canonical) from its cached expansion.
import { TERMINOLOGY_TABLES } from '../../storage/table-names.js';
import type { CodeSystemRef } from '../../storage/terminology-store.js';
import type { DrawnCodes, ParamTypeModule, ParsedValue, PredicateContext, SearchIndex, SearchParamDef, SqlBinds, TerminologyResolver } from '../types.js';
import {
  addEntries, anyOf, checkModifier, cleanValue, containsMatch, containsSql, invalid, isObject, missingMatch, missingSql,
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
  /**
   * :below / :above: the concept, and (once resolved) the code system version whose closure
   * holds it and the codes it draws (listed when FEW_CODES or fewer).
   */
  concept?: { system: string; code: string; hierarchy?: CodeSystemRef; drawn?: DrawnCodes };
  /** :in / :not-in: the ValueSet canonical, and (once resolved) its cached expansion's id and the codes it draws. */
  valueSet?: { canonical: string; expansionId?: string; drawn?: DrawnCodes };
}

/**
 * Up to this many codes drawn from terminology are resolved into plain containment probes, which
 * PostgreSQL plans like any token's (a subquery's array it cannot estimate: it guessed most of the
 * table and scanned a whole tenant index for a leaf, 155 ms at 1M Observations). More stay in SQL.
 */
export const FEW_CODES = 64;

/**
 * How many codes a resolved terminology value draws from concept storage (0 when not resolved or
 * not a terminology value; over FEW_CODES means many): the search engine walks further before
 * asking the GIN index when they are many (engine.ts), since the index path rechecks each match
 * against every one of them.
 */
export function codesDrawn(value: ParsedValue): number {
  const token = value as TokenValue;
  return token.concept?.drawn?.count ?? token.valueSet?.drawn?.count ?? 0;
}

/** Modifiers answered from terminology (resolved before SQL by `resolve`). */
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
  if (raw === '') throw invalid(def, modifier, 'a value is required');
  if (modifier === 'below' || modifier === 'above') {
    const entry = parseTokenEntry(def, modifier, raw);
    if (!entry.s || entry.c === undefined) throw invalid(def, modifier, `expected [system]|[code] (a hierarchy belongs to a code system), got '${raw}'`);
    return { raw, concept: { system: entry.s, code: entry.c } };
  }
  if (modifier === 'in' || modifier === 'not-in') return { raw, valueSet: { canonical: cleanValue(def, modifier, unescapeValue(raw)) } };
  if (modifier === 'text') {
    const text = normalizeText(cleanValue(def, modifier, unescapeValue(raw)));
    if (text === '') throw invalid(def, modifier, 'a text is required');
    return { raw, text };
  }
  if (modifier === 'of-type') return { raw, ofType: parseOfType(def, raw) };
  return { raw, entry: parseTokenEntry(def, modifier, raw) };
}

const defined = <T>(list: (T | undefined)[]): T[] => list.filter((x): x is T => x !== undefined);

async function resolve(def: SearchParamDef, modifier: string | undefined, values: TokenValue[], terminology: TerminologyResolver): Promise<TokenValue[]> {
  if (modifier === 'below' || modifier === 'above') {
    return Promise.all(
      values.map(async (value) => {
        const concept = value.concept as NonNullable<TokenValue['concept']>;
        const hierarchy = await terminology.hierarchy(concept.system);
        if (!hierarchy) throw invalid(def, modifier, `the code system ${concept.system} is not known to this server, so it has no hierarchy`);
        const drawn = await terminology.closureCodes({ ...hierarchy, url: concept.system }, concept.code, modifier, FEW_CODES);
        return { ...value, concept: { ...concept, hierarchy, drawn } };
      }),
    );
  }
  if (modifier === 'in' || modifier === 'not-in') {
    return Promise.all(
      values.map(async (value) => {
        const valueSet = value.valueSet as NonNullable<TokenValue['valueSet']>;
        const expansion = await terminology.expansion(valueSet.canonical, FEW_CODES);
        if (expansion === undefined) throw invalid(def, modifier, `the ValueSet ${valueSet.canonical} is not known to this server`);
        return { ...value, valueSet: { ...valueSet, expansionId: expansion.id, drawn: expansion.drawn } };
      }),
    );
  }
  return values;
}

/** `:below`/`:above` of one concept: its closure rows (reflexive) in the version's table, and the concept itself. */
function hierarchySql(def: SearchParamDef, modifier: 'below' | 'above', value: TokenValue, sp: string, binds: SqlBinds, context: PredicateContext): string {
  const { system, code, hierarchy, drawn } = value.concept as NonNullable<TokenValue['concept']>;
  if (!hierarchy) throw unsupported(def, modifier, 'it was not resolved against terminology here');
  // Few codes: plain probes, the code itself among them (a code the system lacks matches itself).
  if (drawn?.codes) return containsSql(sp, binds, def.code, [{ s: system, c: code }, ...drawn.codes.filter((e) => e.c !== code)]);
  const cl = context.nextAlias();
  const [table, tenant] =
    hierarchy.scope === 'tenant' ? [TERMINOLOGY_TABLES.tenantClosure, `${cl}.tenant_id = ${context.tenant} AND `] : [TERMINOLOGY_TABLES.sharedClosure, ''];
  const [from, to] = modifier === 'below' ? ['ancestor', 'descendant'] : ['descendant', 'ancestor'];
  const s = binds.add(system);
  const rows = `FROM ${table} ${cl} WHERE ${tenant}${cl}.code_system_id = ${binds.add(hierarchy.id)}::bigint AND ${cl}.${from} = ${binds.add(code)}`;
  if (context.rowTest) {
    const c = binds.add(code);
    // Per row: its entries of the system, each code looked for in the subtree's codes (an array
    // computed once per statement), cheaper than one containment per code of the subtree.
    return entriesWhere(sp, def, binds, `e ->> 's' = ${s} AND (e ->> 'c' = ${c} OR e ->> 'c' = ANY(ARRAY(SELECT ${cl}.${to} ${rows})))`);
  }
  const codes = `SELECT jsonb_build_object(${binds.add(def.code)}::text, jsonb_build_array(jsonb_build_object('s', ${s}::text, 'c', ${cl}.${to}))) ${rows}`;
  return `(${containsSql(sp, binds, def.code, [{ s: system, c: code }])} OR ${sp} @> ANY(ARRAY(${codes})))`;
}

/** Some entry `e` of the parameter's index entries satisfies `condition`. */
const entriesWhere = (sp: string, def: SearchParamDef, binds: SqlBinds, condition: string): string =>
  `EXISTS (SELECT 1 FROM jsonb_array_elements(${sp} -> ${binds.add(def.code)}::text) e WHERE jsonb_typeof(e) = 'object' AND ${condition})`;

/** `:in` of one ValueSet: the codes of its cached expansion. */
function valueSetSql(def: SearchParamDef, modifier: string, value: TokenValue, sp: string, binds: SqlBinds, context: PredicateContext): string {
  const expansionId = value.valueSet?.expansionId;
  if (expansionId === undefined) throw unsupported(def, modifier, 'it was not resolved against terminology here');
  const few = value.valueSet?.drawn?.codes;
  if (few) return containsSql(sp, binds, def.code, few);
  const e = context.nextAlias();
  const rows = `FROM ${TERMINOLOGY_TABLES.expansionCode} ${e} WHERE ${e}.tenant_id = ${context.tenant} AND ${e}.expansion_id = ${binds.add(expansionId)}::bigint`;
  if (context.rowTest) {
    // Per row (see hierarchySql): system and code as one key, looked for among the expansion's.
    return entriesWhere(sp, def, binds, `(e ->> 's') || '|' || (e ->> 'c') = ANY(ARRAY(SELECT ${e}.system || '|' || ${e}.code ${rows}))`);
  }
  const codes = `SELECT jsonb_build_object(${binds.add(def.code)}::text, jsonb_build_array(jsonb_build_object('s', ${e}.system, 'c', ${e}.code))) ${rows}`;
  return `${sp} @> ANY(ARRAY(${codes}))`;
}

function predicate(def: SearchParamDef, modifier: string | undefined, values: TokenValue[], sp: string, binds: SqlBinds, context?: PredicateContext): string {
  if (modifier !== undefined && TERMINOLOGY_MODIFIERS.includes(modifier) && !context) {
    throw unsupported(def, modifier, 'it needs terminology, which is not consulted here (scope restrictions)');
  }
  switch (modifier) {
    case 'below':
    case 'above':
      return anyOf(values.map((v) => hierarchySql(def, modifier, v, sp, binds, context as PredicateContext)));
    case 'in':
      return anyOf(values.map((v) => valueSetSql(def, modifier, v, sp, binds, context as PredicateContext)));
    case 'not-in':
      // Like :not: none of the ValueSets holds a code of the resource, including resources without one.
      return notSql(anyOf(values.map((v) => valueSetSql(def, modifier, v, sp, binds, context as PredicateContext))));
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
  if (modifier !== undefined && TERMINOLOGY_MODIFIERS.includes(modifier)) {
    throw unsupported(def, modifier, 'it needs terminology, which in-memory matching does not consult');
  }
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
  resolve,
  predicate,
  matches,
  sort: { kind: 'text', expression: sortExpression },
};
