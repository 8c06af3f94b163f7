// Composite search parameters (FHIR R4 search.html#composite): a value is the values of the
// parameter's components joined by `$` (`\$` is a literal dollar, search.html#escaping), each
// part parsed by its component's own type module, e.g. Observation
// `component-code-value-quantity=http://loinc.org|8480-6$lt60`. A resource matches when ONE
// composite root (the element the composite's expression selects: the Observation itself,
// one Observation.component, one useContext ...) matches every part; parts matching on
// different roots do not make a match. Comma = OR of whole composite values; :missing works
// as for every type; no other modifier applies.
//
// Index entries (src/search/types.ts), sp["<code>"]: one tuple per composite root whose
// components ALL have a value, the component index entries keyed by the component's position:
//   {"0": [entries of component 0], "1": [entries of component 1], ...}
// The entries are exactly those the component's module writes under its main key (token
// {"s","c"}, quantity [lo, hi, system, code, unit], date [lo, hi], normalized strings, ...),
// produced by that module with a stand-in definition whose code is "0", "1", ... So a tuple is
// itself a small `sp` document, and the component modules' own SQL predicates and in-memory
// matchers work on it unchanged:
//   SQL:    EXISTS (SELECT 1 FROM jsonb_array_elements(sp -> '<code>') AS sp_tuple(e)
//                   WHERE (<pred of component 0 over sp_tuple.e> AND <pred of component 1 ...>)
//                      OR (<next comma alternative>))
//   memory: some tuple for which every component module's matches() accepts its part.
// Token, reference and uri parts are also turned into a containment probe on the whole `sp`
// (`sp @> {"<code>": [{"0": [probe]}]}`), which the GIN jsonb_path_ops index serves and which
// the exact EXISTS test implies, so it only narrows the rows the EXISTS has to look at.
//
// Components are resolved by their definition URL among the R4 SearchParameters of the same
// resource type (the registry has no lookup by URL; see componentDefs). Component expressions
// are relative to each root: they are compiled as `<root path>.<component expression>` for the
// resource type and evaluated on a stand-in resource that holds only that root at that path,
// so the fast compiled accessors (and the R4 model's choice types, value[x]) apply.
//
// Limits:
// - Components of custom (non-R4) SearchParameters are not resolved: such a composite is a
//   400 not-supported and indexes nothing (needs a lookup by URL in the registry).
// - `%resource` in a component expression is only available when the root is the resource
//   itself: index() receives the roots, not the resource. So the R4 MolecularSequence
//   `*-variant-coordinate` parameters (chromosome / referenceSeqId from %resource) index nothing.
// - Roots that are not a plain member path (a custom parameter's `where(...)`) evaluate the
//   component expressions with fhirpath.js without type information (no value[x]).
// - Components take no modifiers (FHIR defines none for them); the composite only :missing,
//   which is true when no root has a value for every component.
import { FhirError } from '../../core/errors.js';
import type { JsonObject } from '../../core/types.js';
import { compileExtractor, compileFhirpath, normalizeCasts } from '../registry/compile.js';
import { branches } from '../registry/expression.js';
import { createSearchRegistry, type SearchRegistry } from '../registry/registry.js';
import type { ParamTypeModule, ParsedValue, SearchIndex, SearchParamDef, SearchParamType, SqlBinds } from '../types.js';
import { dateParam } from './date.js';
import { numberParam } from './number.js';
import { quantityParam } from './quantity.js';
import { referenceParam, type ReferenceValue } from './reference.js';
import {
  addEntries, anyOf, checkModifier, invalid, isObject, missingMatch, missingSql, paramName, parseMissing, sqlLiteral,
} from './shared.js';
import { stringParam } from './string.js';
import { tokenParam, type TokenValue } from './token.js';
import { uriParam, type UriValue } from './uri.js';

export interface CompositeValue extends ParsedValue {
  /** One parsed value per component, in component order (absent for :missing). */
  parts?: ParsedValue[];
}

/**
 * The modules a component may use: every simple parameter type. modules.ts builds its map from
 * this one (adding composite), so the list lives once and the two modules form no cycle.
 */
export const COMPONENT_MODULES: Partial<Record<SearchParamType, ParamTypeModule>> = {
  token: tokenParam as ParamTypeModule,
  reference: referenceParam as ParamTypeModule,
  uri: uriParam as ParamTypeModule,
  string: stringParam as ParamTypeModule,
  date: dateParam as ParamTypeModule,
  number: numberParam as ParamTypeModule,
  quantity: quantityParam as ParamTypeModule,
};

/** Alias of one tuple in the SQL; a leaf subquery, so it never meets another of its kind. */
const TUPLE = 'sp_tuple';

/**
 * R4 errata: DocumentReference `relationship` swaps its component expressions (relatesto, a
 * reference, reads `code`; relation, a token, reads `target`). R5 corrected them as below.
 */
const EXPRESSION_FIXES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'http://hl7.org/fhir/SearchParameter/DocumentReference-relationship': {
    'http://hl7.org/fhir/SearchParameter/DocumentReference-relatesto': 'target',
    'http://hl7.org/fhir/SearchParameter/DocumentReference-relation': 'code',
  },
};

// ---------------------------------------------------------------------------------------
// Compiling a composite: its components' modules, stand-in definitions and extractors

type Extract = (root: unknown) => unknown[];

interface Slot {
  module: ParamTypeModule;
  /** The component's own parameter code, for messages. */
  code: string;
  /** The component definition under the composite's code: parse errors name the composite. */
  parseDef: SearchParamDef;
  /** The component definition under the code "<position>": its key inside a tuple. */
  slotDef: SearchParamDef;
  /** The component's values relative to one composite root. */
  extract: Extract;
}

type Compiled = { slots: Slot[] } | { error: string };

const compiled = new WeakMap<SearchParamDef, Compiled>();
let r4Registry: SearchRegistry | undefined;
const byUrl = new Map<string, ReadonlyMap<string, SearchParamDef>>();

/** The R4 definitions of `resourceType` by URL (built once per type). */
function componentDefs(resourceType: string): ReadonlyMap<string, SearchParamDef> {
  let defs = byUrl.get(resourceType);
  if (!defs) {
    r4Registry ??= createSearchRegistry();
    defs = new Map([...r4Registry.forType(resourceType).values()].map((d) => [d.url, d]));
    byUrl.set(resourceType, defs);
  }
  return defs;
}

const none: Extract = () => [];
const SIMPLE_PATH = /^[A-Z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$/;

/** A resource of `resourceType` holding only `root`, at `path` (`Type.a.b`: {a: {b: root}}). */
function standIn(resourceType: string, members: readonly string[], root: unknown): JsonObject {
  let value = root;
  for (let i = members.length - 1; i >= 0; i--) value = { [members[i]]: value };
  return { ...(value as JsonObject), resourceType };
}

/**
 * The extractor of a component `expression` relative to the roots of one branch of the
 * composite's expression. A simple path root (`Type` or `Type.a.b`) is compiled as
 * `Type.a.b.<expression>` and run on a stand-in resource; `$this` stands for the root, and
 * `%resource` for the resource when the root is the resource itself. Any other root form
 * (a custom parameter's `where(...)`) evaluates the expression on the root with fhirpath.js
 * but without type information, so choice elements (value[x]) are not found there.
 */
function componentExtractor(def: SearchParamDef, rootBranch: string, expression: string): Extract {
  const type = def.resourceType;
  if (!SIMPLE_PATH.test(rootBranch)) {
    const evaluate = compileFhirpath(expression);
    return (root) => (isObject(root) ? evaluate(root as JsonObject) : []);
  }
  const isResource = rootBranch === type;
  const paths: string[] = [];
  for (const branch of branches(normalizeCasts(expression))) {
    const resourceVar = /^%(?:resource|rootResource)(?=$|\.)/.exec(branch);
    if (resourceVar) {
      if (isResource) paths.push(type + branch.slice(resourceVar[0].length));
      // else: the resource is not at hand when indexing a root (see Limits in the header)
    } else if (/^\$this(?=$|\.)/.test(branch)) paths.push(rootBranch + branch.slice(5));
    else paths.push(`${rootBranch}.${branch}`);
  }
  if (paths.length === 0) return none;
  const extract = compileExtractor(paths.join(' | '), type);
  if (isResource) return (root) => (isObject(root) ? extract(root as JsonObject) : []);
  const members = rootBranch.split('.').slice(1);
  return (root) => extract(standIn(type, members, root));
}

/** The extractor of a component over every kind of root of `def` (its expression's branches). */
function slotExtractor(def: SearchParamDef, expression: string): Extract {
  const rootBranches = branches(def.expression);
  const own = rootBranches.includes(def.resourceType) ? componentExtractor(def, def.resourceType, expression) : undefined;
  const others = rootBranches.filter((b) => b !== def.resourceType).map((b) => componentExtractor(def, b, expression));
  return (root) => {
    // The resource itself is a root only of the bare `Type` branch; anything else comes from
    // one of the other branches. Several of those (only custom parameters have them) cannot
    // be told apart from the element alone, so each is tried.
    if (own && isObject(root) && root.resourceType === def.resourceType) return own(root);
    return others.length === 1 ? others[0](root) : others.flatMap((extract) => extract(root));
  };
}

function compile(def: SearchParamDef): Compiled {
  const components = def.components ?? [];
  if (components.length === 0) return { error: 'it has no components' };
  if (def.expression === '') return { error: `it has no expression for ${def.resourceType}` };
  const defs = componentDefs(def.resourceType);
  const slots: Slot[] = [];
  for (const [i, component] of components.entries()) {
    const target = defs.get(component.definition);
    const module = target ? COMPONENT_MODULES[target.type] : undefined;
    if (!target || !module) {
      const why = target ? `its type ${target.type} cannot be a component` : 'its definition is not a known SearchParameter';
      return { error: `component ${i + 1} (${component.definition}): ${why}` };
    }
    const expression = EXPRESSION_FIXES[def.url]?.[component.definition] ?? component.expression;
    let extract: Extract;
    try {
      extract = slotExtractor(def, expression);
    } catch (error) {
      return { error: `component ${i + 1} (${target.code}): ${(error as Error).message}` };
    }
    const base = { ...target, resourceType: def.resourceType, expression, extract: () => [] };
    slots.push({
      module,
      code: target.code,
      parseDef: Object.freeze({ ...base, code: def.code }),
      slotDef: Object.freeze({ ...base, code: String(i), componentSlot: true }),
      extract,
    });
  }
  return { slots };
}

function compiledOf(def: SearchParamDef): Compiled {
  let result = compiled.get(def);
  if (!result) {
    result = compile(def);
    compiled.set(def, result);
  }
  return result;
}

/** The slots of `def`, or a 400 not-supported naming the parameter. */
function slotsOf(def: SearchParamDef, modifier: string | undefined): Slot[] {
  const result = compiledOf(def);
  if ('slots' in result) return result.slots;
  const name = paramName(def, modifier);
  throw new FhirError(400, { code: 'not-supported', diagnostics: `${name}: composite parameter not supported (${result.error})`, expression: [name] });
}

// ---------------------------------------------------------------------------------------
// Index

/** One tuple per root whose components all have entries (a partial tuple can never match). */
function index(def: SearchParamDef, values: unknown[], into: SearchIndex): void {
  const result = compiledOf(def);
  if (!('slots' in result)) return;
  const tuples: SearchIndex[] = [];
  for (const root of values) {
    const tuple: SearchIndex = {};
    const complete = result.slots.every((slot, i) => {
      const found = slot.extract(root);
      if (found.length === 0) return false;
      const sub: SearchIndex = {};
      slot.module.index(slot.slotDef, found, sub);
      const entries = sub[String(i)] ?? [];
      if (entries.length === 0) return false;
      tuple[String(i)] = entries;
      return true;
    });
    if (complete) tuples.push(tuple);
  }
  addEntries(into, def.code, tuples);
}

// ---------------------------------------------------------------------------------------
// Query

/** Splits on `$` not escaped with a backslash, keeping every escape for the component's parser. */
export function splitComponents(raw: string): string[] {
  const parts = [''];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && i + 1 < raw.length) parts[parts.length - 1] += raw[i] + raw[++i];
    else if (raw[i] === '$') parts.push('');
    else parts[parts.length - 1] += raw[i];
  }
  return parts;
}

function parse(def: SearchParamDef, modifier: string | undefined, raw: string): CompositeValue {
  checkModifier(def, modifier, []);
  if (modifier === 'missing') return parseMissing(def, raw);
  const slots = slotsOf(def, modifier);
  const parts = splitComponents(raw);
  if (parts.length !== slots.length) {
    const form = slots.map((s) => `[${s.code}]`).join('$');
    throw invalid(def, modifier, `expected ${slots.length} values separated by '$' (${form}), got ${parts.length} in '${raw}'`);
  }
  return {
    raw,
    parts: parts.map((part, i) => {
      const slot = slots[i];
      try {
        return slot.module.parse(slot.parseDef, undefined, part);
      } catch (error) {
        if (!(error instanceof FhirError) || error.status !== 400) throw error;
        // Say which component was wrong; the component module named the composite already.
        const [first] = error.outcome.issue;
        const text = (first?.diagnostics ?? error.message).replace(`${def.code}: `, '');
        throw new FhirError(400, {
          code: first?.code ?? 'invalid',
          diagnostics: `${paramName(def, modifier)}: component ${i + 1} (${slot.code}): ${text}`,
          expression: [paramName(def, modifier)],
        });
      }
    }),
  };
}

const partsOf = (value: CompositeValue): ParsedValue[] => value.parts ?? [];

/** The containment probe the component's own predicate tests a tuple with, if it is one. */
function probeOf(slot: Slot, part: ParsedValue): unknown {
  switch (slot.slotDef.type) {
    case 'token': return (part as TokenValue).entry;
    case 'reference': return (part as ReferenceValue).ref;
    case 'uri': return (part as UriValue).uri;
    default: return undefined;
  }
}

/** GIN-served containment probes implied by the exact test; undefined when some value has none. */
function prefilterSql(def: SearchParamDef, slots: Slot[], values: CompositeValue[], sp: string, binds: SqlBinds): string | undefined {
  const alternatives: string[] = [];
  for (const value of values) {
    const probes = partsOf(value).flatMap((part, i) => {
      const probe = probeOf(slots[i], part);
      return probe === undefined ? [] : [`${sp} @> ${binds.add(JSON.stringify({ [def.code]: [{ [String(i)]: [probe] }] }))}::jsonb`];
    });
    if (probes.length === 0) return undefined;
    alternatives.push(probes.length === 1 ? probes[0] : `(${probes.join(' AND ')})`);
  }
  return anyOf(alternatives);
}

function predicate(def: SearchParamDef, modifier: string | undefined, values: CompositeValue[], sp: string, binds: SqlBinds): string {
  checkModifier(def, modifier, []);
  if (modifier === 'missing') return missingSql(sp, [def.code], values);
  const slots = slotsOf(def, modifier);
  const prefilter = prefilterSql(def, slots, values, sp, binds);
  const alternatives = values.map((value) => {
    const parts = partsOf(value);
    const conditions = slots.map((slot, i) => `(${slot.module.predicate(slot.slotDef, undefined, [parts[i]], `${TUPLE}.e`, binds)})`);
    return `(${conditions.join(' AND ')})`;
  });
  const key = sqlLiteral(def.code);
  const list = `CASE WHEN jsonb_typeof(${sp} -> ${key}) = 'array' THEN ${sp} -> ${key} END`;
  const exists = `EXISTS (SELECT 1 FROM jsonb_array_elements(${list}) AS ${TUPLE}(e) WHERE ${anyOf(alternatives)})`;
  return prefilter === undefined ? exists : `(${prefilter} AND ${exists})`;
}

function matches(def: SearchParamDef, modifier: string | undefined, values: CompositeValue[], index: SearchIndex): boolean {
  checkModifier(def, modifier, []);
  if (modifier === 'missing') return missingMatch(index, [def.code], values);
  const slots = slotsOf(def, modifier);
  const tuples = (index[def.code] ?? []).filter(isObject) as SearchIndex[];
  return values.some((value) => {
    const parts = partsOf(value);
    return tuples.some((tuple) => slots.every((slot, i) => slot.module.matches(slot.slotDef, undefined, [parts[i]], tuple)));
  });
}

export const compositeParam: ParamTypeModule<CompositeValue> = {
  type: 'composite',
  modifiers: [],
  index,
  parse,
  predicate,
  matches,
};
