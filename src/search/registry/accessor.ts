// Plain JavaScript accessors for the simple FHIRPath forms of SearchParameter expressions
// (FHIR R4 searchparameter.html#expression, fhirpath.html#simple). ARCHITECTURE.md "Index
// extraction cost": fhirpath.js costs ~0.1 ms per Observation even after splitting; these
// accessors cost about a microsecond and must return exactly what fhirpath.js returns
// (the property test in test/unit/search/registry checks it on Synthea data).
//
// One branch (no top-level `|`) compiles when it is `Type` followed by:
//   .member            navigation, flattening arrays; a choice element (value[x]) reads the
//                      keys its R4 model lists (valueQuantity, valueString, ...)
//   .ofType(T)         narrowing; right after a choice element it selects the matching keys
//   .where(resolve() is T)   references whose target type is T (reference-target.ts)
//   .where(m = 'text') a non-repeating primitive member equal to a string literal
//   [n]                indexer
// Element types come from the fhirpath.js R4 model, so anything the model does not know
// (unknown members, navigation into contained resources) is left to fhirpath.js.
import r4 from 'fhirpath/fhir-context/r4';
import type { JsonObject } from '../../core/types.js';
import { scan } from './expression.js';
import type { Extractor } from './fhirpath-fallback.js';
import { referenceTargetType } from './reference-target.js';

type Step = (items: unknown[], root: JsonObject) => unknown[];
type Token = { kind: 'member'; name: string } | { kind: 'call'; name: string; args: string } | { kind: 'index'; n: number };

/** Static typing while compiling: what the current items are, as the R4 model names them. */
interface TypeState {
  /** Path prefix for the next member (a type name or a backbone path); undefined when unknown. */
  base: string | undefined;
  /** FHIR type of the current items; undefined when mixed or unknown. */
  type: string | undefined;
  /** A choice element navigated but not yet read: an ofType() may still narrow its keys. */
  choice?: { name: string; path: string; suffixes: readonly string[] };
}

const IDENT = /^[A-Za-z][A-Za-z0-9_]*/;
const STRING_TYPES: ReadonlySet<string> = new Set(['string', 'code', 'id', 'uri', 'url', 'canonical', 'oid', 'uuid', 'markdown', 'System.String']);
/** fhirpath.js ofType() also accepts FHIR primitives converting to these System types. */
const TO_SYSTEM: Readonly<Record<string, string>> = {
  boolean: 'Boolean', string: 'String', uri: 'String', code: 'String', oid: 'String', id: 'String', uuid: 'String',
  markdown: 'String', base64Binary: 'String', integer: 'Integer', unsignedInt: 'Integer', positiveInt: 'Integer',
  decimal: 'Decimal', date: 'DateTime', dateTime: 'DateTime', instant: 'DateTime', time: 'Time', Quantity: 'Quantity',
};

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Index of the `)` closing the `(` at `open`, or -1. */
function closingParen(text: string, open: number): number {
  const sub = text.slice(open);
  let close = -1;
  scan(sub, (i, depth) => {
    if (close < 0 && depth === 0 && sub[i] === ')') close = open + i;
  });
  return close;
}

function tokenize(branch: string, resourceType: string): Token[] | undefined {
  const root = IDENT.exec(branch)?.[0];
  if (root !== resourceType) return undefined;
  const tokens: Token[] = [];
  let i = root.length;
  while (i < branch.length) {
    const rest = branch.slice(i);
    const call = /^\.([A-Za-z][A-Za-z0-9_]*)\(/.exec(rest);
    const member = /^\.([A-Za-z][A-Za-z0-9_]*)/.exec(rest);
    const index = /^\[(\d+)\]/.exec(rest);
    if (call) {
      const close = closingParen(branch, i + call[0].length - 1);
      if (close < 0) return undefined;
      tokens.push({ kind: 'call', name: call[1], args: branch.slice(i + call[0].length, close).trim() });
      i = close + 1;
    } else if (member) {
      tokens.push({ kind: 'member', name: member[1] });
      i += member[0].length;
    } else if (index) {
      tokens.push({ kind: 'index', n: Number(index[1]) });
      i += index[0].length;
    } else return undefined;
  }
  return tokens;
}

/** FHIRPath `is`/`ofType` on a statically known FHIR type (fhirpath.js TypeInfo semantics). */
function typeMatches(actual: string | undefined, wanted: string): boolean {
  if (actual === undefined) return false;
  if (actual.startsWith('System.')) return actual.slice(7) === wanted;
  if (TO_SYSTEM[actual] === wanted) return true;
  for (let t: string | undefined = actual; t; t = r4.type2Parent[t]) if (t === wanted) return true;
  return false;
}

function setType(state: TypeState, type: string, path: string): void {
  state.type = type;
  if (type === 'BackboneElement' || type === 'Element') state.base = r4.pathsDefinedElsewhere[path] ?? path;
  else if (type === 'Resource' || type === 'DomainResource') state.base = undefined; // runtime type
  else state.base = type;
}

function pushValue(out: unknown[], value: unknown): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) out.push(value);
  else for (const v of value) if (v !== undefined && v !== null) out.push(v);
}

function readKeys(keys: readonly string[]): Step {
  return (items) => {
    const out: unknown[] = [];
    for (const item of items) {
      if (!isObject(item)) continue;
      for (const key of keys) pushValue(out, item[key]);
    }
    return out;
  };
}

const nothing: Step = () => [];

/** Reads a pending choice element with all its keys (no ofType() followed). */
function flushChoice(state: TypeState, steps: Step[]): void {
  const choice = state.choice;
  if (!choice) return;
  state.choice = undefined;
  steps.push(readKeys(choice.suffixes.map((s) => choice.name + s)));
  const types = new Set(choice.suffixes.map((s) => r4.path2Type[choice.path + s]));
  if (types.size === 1) setType(state, [...types][0], choice.path + choice.suffixes[0]);
  else state.base = state.type = undefined;
}

function member(state: TypeState, name: string): Step | null | undefined {
  if (state.base === undefined) return undefined;
  const path = `${state.base}.${name}`;
  const suffixes = r4.choiceTypePaths[path];
  if (suffixes) {
    state.choice = { name, path, suffixes };
    return null;
  }
  const declared = r4.path2Type[path];
  const elsewhere = r4.pathsDefinedElsewhere[path];
  if (declared === undefined && elsewhere === undefined) return undefined;
  setType(state, declared ?? 'BackboneElement', path);
  return readKeys([name]);
}

function ofType(state: TypeState, wanted: string): Step | null | undefined {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(wanted)) return undefined; // namespaced: leave to fhirpath.js
  const choice = state.choice;
  if (!choice) {
    if (state.base === undefined || state.type === undefined) return undefined;
    return typeMatches(state.type, wanted) ? null : nothing;
  }
  state.choice = undefined;
  const kept = choice.suffixes.filter((s) => typeMatches(r4.path2Type[choice.path + s], wanted));
  const types = new Set(kept.map((s) => r4.path2Type[choice.path + s]));
  if (types.size === 1) setType(state, [...types][0], choice.path + kept[0]);
  else state.base = state.type = undefined;
  return kept.length > 0 ? readKeys(kept.map((s) => choice.name + s)) : nothing;
}

function where(state: TypeState, args: string): Step | undefined {
  const resolveIs = /^resolve\(\)\s+is\s+([A-Z][A-Za-z]+)$/.exec(args);
  if (resolveIs) {
    const target = resolveIs[1];
    const parent = r4.type2Parent[target];
    if (state.type !== 'Reference' || (parent !== 'DomainResource' && parent !== 'Resource')) return undefined;
    return (items, root) => items.filter((item) => referenceTargetType(item, root) === target);
  }
  const equals = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*'([^'\\]*)'$/.exec(args);
  if (!equals || state.base === undefined) return undefined;
  const [, name, literal] = equals;
  const path = `${state.base}.${name}`;
  const declared = r4.path2Type[path];
  if (!STRING_TYPES.has(declared) || r4.path2Repeating[path] || r4.choiceTypePaths[path]) return undefined;
  return (items) => items.filter((item) => isObject(item) && item[name] === literal);
}

/** The steps of one token; null when the token needs no runtime step, undefined when it does not compile. */
function compileToken(state: TypeState, token: Token, steps: Step[]): Step | null | undefined {
  if (token.kind === 'call' && token.name === 'ofType') return ofType(state, token.args);
  flushChoice(state, steps);
  if (token.kind === 'member') return member(state, token.name);
  if (token.kind === 'index') {
    const n = token.n;
    return (items) => (n < items.length ? [items[n]] : []);
  }
  return token.name === 'where' ? where(state, token.args) : undefined;
}

/**
 * A plain accessor for one branch (already split for `resourceType` and with `as` rewritten
 * to ofType), or undefined when the branch uses anything beyond the forms listed above.
 */
export function compileBranch(branch: string, resourceType: string): Extractor | undefined {
  const tokens = tokenize(branch.trim(), resourceType);
  if (!tokens) return undefined;
  const state: TypeState = { base: resourceType, type: resourceType };
  const steps: Step[] = [];
  for (const token of tokens) {
    const step = compileToken(state, token, steps);
    if (step === undefined) return undefined;
    if (step !== null) steps.push(step);
  }
  flushChoice(state, steps);
  return (resource) => {
    let items: unknown[] = resource.resourceType === resourceType ? [resource] : [];
    for (let i = 0; i < steps.length && items.length > 0; i++) items = steps[i](items, resource);
    return items;
  };
}
