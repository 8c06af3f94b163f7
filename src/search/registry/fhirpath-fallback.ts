// fhirpath.js evaluation of SearchParameter expressions (FHIR R4 searchparameter.html#expression,
// fhirpath.html) for the forms that compile.ts does not turn into plain accessors, and the
// reference the property tests compare those accessors against.
//
// Two adaptations of the R4 expressions to write-time indexing, applied before evaluation:
// - `x as T` / `x.as(T)` become `x.ofType(T)`. fhirpath.js (following FHIRPath N1) throws on
//   `as` over more than one item, so `Observation.component.value as Quantity` fails on every
//   blood-pressure panel; the intent is a filter, which is what R5 rewrote these to.
// - resolve() is synchronous and never fetches: it yields a stub resource whose type comes
//   from the reference itself (reference-target.ts), enough for `resolve() is Patient`.
import fhirpath, { type UserInvocationTable } from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { JsonObject } from '../../core/types.js';
import { referenceTargetType } from './reference-target.js';
import { branches, scan, stripWrappingParens } from './expression.js';

export type Extractor = (resource: JsonObject) => unknown[];

/** The subset of fhirpath.js's ResourceNode the resolve() stub uses. */
interface FpNode {
  data: unknown;
  constructor: { makeResNode(ctx: unknown, data: unknown, ...rest: null[]): unknown };
}

interface FpContext {
  dataRoot?: { data?: unknown }[];
}

function isNode(value: unknown): value is FpNode {
  return typeof value === 'object' && value !== null && 'data' in value;
}

/** resolve() for indexing: a `{resourceType}` stub per reference whose target type is known. */
function resolveStub(this: FpContext, coll: unknown[]): unknown[] {
  const root = this.dataRoot?.[0]?.data as JsonObject | undefined;
  const out: unknown[] = [];
  for (const item of coll) {
    if (!isNode(item)) continue;
    const type = referenceTargetType(item.data, root);
    if (type) out.push(item.constructor.makeResNode(this, { resourceType: type }, null, null, null, null));
  }
  return out;
}

const OPTIONS: { resolveInternalTypes: true; userInvocationTable: UserInvocationTable } = {
  resolveInternalTypes: true,
  userInvocationTable: { resolve: { fn: resolveStub, arity: { 0: [] }, internalStructures: true } },
};

const TYPE_NAME = '([A-Za-z][A-Za-z0-9.]*)';
const AS_CALL = new RegExp(`\\.as\\(\\s*${TYPE_NAME}\\s*\\)`, 'g');
const AS_IN_PARENS = new RegExp(`(?<![A-Za-z0-9_])\\(([^\\s()|']+)\\s+as\\s+${TYPE_NAME}\\)`, 'g');
const AS_AT_END = new RegExp(`^(.*\\S)\\s+as\\s+${TYPE_NAME}$`, 's');

/** True when `text` has whitespace outside parentheses and strings (i.e. it is not one path). */
function hasTopLevelSpace(text: string): boolean {
  let found = false;
  scan(text, (i, depth) => {
    if (depth === 0 && /\s/.test(text[i])) found = true;
  });
  return found;
}

function rewriteAs(branch: string): string {
  // `X.as(T)` and `(X as T).rest` -> `X.ofType(T)`, `X.ofType(T).rest`
  const out = stripWrappingParens(branch.replace(AS_CALL, '.ofType($1)').replace(AS_IN_PARENS, '$1.ofType($2)'));
  const whole = AS_AT_END.exec(out);
  return whole && !hasTopLevelSpace(whole[1]) ? `${whole[1]}.ofType(${whole[2]})` : out;
}

/** Rewrites `as` casts to `ofType` in every top-level branch (see the header). */
export function normalizeCasts(expression: string): string {
  return branches(expression).map(rewriteAs).join(' | ');
}

/**
 * Compiles with fhirpath.js and its R4 model; results are plain JSON values (primitives
 * unwrapped, decimals as numbers). A syntax error throws here; an evaluation error
 * (e.g. a function fhirpath.js lacks) yields [] for that resource.
 */
export function compileFhirpath(expression: string): Extractor {
  const evaluate = fhirpath.compile(normalizeCasts(expression), r4, OPTIONS);
  return (resource) => {
    try {
      return evaluate(resource) as unknown[];
    } catch {
      return [];
    }
  };
}
