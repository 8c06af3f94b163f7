// Version-aware resource text (FHIR R4 http.html#versioning, resource.html#Meta):
// the stored bytes carry resourceType first, then id and meta with versionId/lastUpdated.
import { stringifyPreservingNumbers, type NumberLexemes } from './json-numbers.js';
import type { JsonObject } from '../core/types.js';

/**
 * Serializes a resource for storage as version `versionId`, stamped at `lastUpdated`.
 * `numbers` keeps the client's spelling of decimals such as 1.50 (datatypes.html#decimal).
 */
export function serializeVersion(
  resource: JsonObject,
  id: string,
  versionId: number,
  lastUpdated: Date,
  numbers?: NumberLexemes,
): string {
  const { resourceType, id: _ignored, meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...otherMeta } = (meta ?? {}) as JsonObject;
  const stamped = {
    resourceType,
    id,
    meta: { versionId: String(versionId), lastUpdated: lastUpdated.toISOString(), ...otherMeta },
    ...rest,
  };
  return stringifyPreservingNumbers(stamped, numbers);
}

/** True when two resources differ only in meta.versionId / meta.lastUpdated. */
export function sameContent(a: JsonObject, b: JsonObject): boolean {
  return canonical(withoutVersionMeta(a)) === canonical(withoutVersionMeta(b));
}

function withoutVersionMeta(resource: JsonObject): JsonObject {
  const meta = resource.meta as JsonObject | undefined;
  if (!meta) return resource;
  const { versionId: _v, lastUpdated: _l, ...rest } = meta;
  const copy: JsonObject = { ...resource };
  if (Object.keys(rest).length > 0) copy.meta = rest;
  else delete copy.meta;
  return copy;
}

/** JSON text with object keys sorted, so key order never counts as a change. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as JsonObject)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Weak ETag for a version (http.html#versioning). */
export const etag = (versionId: number) => `W/"${versionId}"`;

/** Reads the version from `W/"3"`, `"3"` or `3`; undefined when it is not a version tag. */
export function parseETag(value: string): number | undefined {
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/** A lastUpdated strictly after the previous version's, even if the clock stepped back. */
export function nextTimestamp(previous?: Date, now: Date = new Date()): Date {
  if (previous && now.getTime() <= previous.getTime()) return new Date(previous.getTime() + 1);
  return now;
}
