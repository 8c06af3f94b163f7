// Conditional request headers (FHIR R4 http.html#concurrency, #cread).
import type { StoredVersion } from '../storage/resource-store.js';
import { badRequest, preconditionFailed } from '../core/errors.js';
import type { FhirRequest } from '../core/types.js';
import { parseETag } from './versioning.js';

/** If-Match: the write must be based on the current version, else 412. */
export function checkIfMatch(req: FhirRequest, current: StoredVersion | undefined): void {
  if (req.ifMatch === undefined) return;
  const expected = parseETag(req.ifMatch);
  if (expected === undefined) throw badRequest(`If-Match '${req.ifMatch}' is not a version ETag like W/"3"`, ['If-Match']);
  if (!current || current.deleted || current.versionId !== expected) {
    const actual = current && !current.deleted ? `version ${current.versionId}` : 'no current version';
    throw preconditionFailed(`If-Match W/"${expected}" does not match: the resource has ${actual}`);
  }
}

/** If-None-Match / If-Modified-Since on a read: true when the client's copy is current (304). */
export function notModified(req: FhirRequest, current: StoredVersion): boolean {
  if (req.ifNoneMatch !== undefined) {
    const tags = req.ifNoneMatch.split(',').map((t) => t.trim());
    return tags.includes('*') || tags.some((t) => parseETag(t) === current.versionId);
  }
  if (req.ifModifiedSince) {
    // HTTP dates have whole-second precision.
    return Math.floor(current.lastUpdated.getTime() / 1000) <= Math.floor(req.ifModifiedSince.getTime() / 1000);
  }
  return false;
}
