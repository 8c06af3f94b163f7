// Compiles a SearchParameter expression for one resource type into an extractor (FHIR R4
// searchparameter.html#expression, search.html): the branches for that type only
// (expression.ts), as plain JS accessors when every branch is a simple form (accessor.ts),
// otherwise with fhirpath.js (fhirpath-fallback.ts). Both paths return the same plain JSON
// values; the property test holds them to it.
import type { JsonObject } from '../../core/types.js';
import { compileBranch } from './accessor.js';
import { branches, splitForType } from './expression.js';
import { compileFhirpath, normalizeCasts, type Extractor } from './fhirpath-fallback.js';

export type { Extractor } from './fhirpath-fallback.js';
export { compileFhirpath, normalizeCasts } from './fhirpath-fallback.js';

const none: Extractor = () => [];

/** Structural equality of JSON values (key order ignored), the test FHIRPath `|` de-duplicates by. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as JsonObject)[k], (b as JsonObject)[k]));
}

/**
 * FHIRPath `|`: the concatenation with equal values removed, first occurrence kept.
 * Collections here are a handful of items, so pairwise comparison beats hashing.
 */
function union(parts: readonly Extractor[]): Extractor {
  return (resource) => {
    const out: unknown[] = [];
    for (const part of parts) {
      for (const value of part(resource)) {
        if (!out.some((kept) => jsonEqual(kept, value))) out.push(value);
      }
    }
    return out;
  };
}

/**
 * Plain accessors for the branches of `expression` that apply to `resourceType`, or
 * undefined when any branch needs fhirpath.js (or none applies).
 */
export function compileAccessor(expression: string, resourceType: string): Extractor | undefined {
  const forType = splitForType(expression, resourceType);
  if (forType === undefined) return undefined;
  const flag = compilePresentAndNotFalse(forType, resourceType);
  if (flag) return flag;
  const parts: Extractor[] = [];
  for (const branch of branches(normalizeCasts(forType))) {
    const part = compileBranch(branch, resourceType);
    if (!part) return undefined;
    parts.push(part);
  }
  return parts.length === 1 ? parts[0] : union(parts);
}

const PRESENT_AND_NOT_FALSE = /^(\S+)\.exists\(\) and \1 != false$/;

/**
 * `P.exists() and P != false` (R4 Patient `deceased`), on every Patient write: false when P is
 * absent or the boolean false, true for any other single value (true, or a dateTime: FHIRPath
 * `!=` between types is true). More than one value is fhirpath.js's to judge.
 */
function compilePresentAndNotFalse(expression: string, resourceType: string): Extractor | undefined {
  const match = PRESENT_AND_NOT_FALSE.exec(expression.trim());
  const path = match && compileBranch(match[1], resourceType);
  if (!path) return undefined;
  let general: Extractor | undefined;
  return (resource) => {
    const values = path(resource);
    if (values.length === 0) return [false];
    if (values.length === 1) return [values[0] !== false];
    general ??= compileFhirpath(expression);
    return general(resource);
  };
}

/**
 * The extractor of `expression` for `resourceType`: matching elements as plain JSON values.
 * Throws on a FHIRPath syntax error; evaluation errors yield [] for that resource.
 */
export function compileExtractor(expression: string, resourceType: string): (resource: JsonObject) => unknown[] {
  const forType = splitForType(expression, resourceType);
  if (forType === undefined) return none;
  return compileAccessor(forType, resourceType) ?? compileFhirpath(forType);
}
