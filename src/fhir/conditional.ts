// Criteria of conditional create/update/delete (FHIR R4 http.html#ccreate, #cond-update,
// #cdelete), evaluated by the search engine so a conditional operation matches exactly what
// the same search would. Concurrent conditional operations with the same criteria are
// serialized by a transaction-scoped lock, so two cannot both create. The criteria see only what
// the caller reaches (SMART scopes, access/read-constraint.ts: any of c r u d s on the type), so
// a conditional operation cannot find, and so cannot touch or reveal, another patient's data.
import { createHash } from 'node:crypto';
import type { ResourceStore, StoredVersion } from '../storage/resource-store.js';
import { badRequest } from '../core/errors.js';
import type { InteractionDeps } from './interactions/context.js';
import { requestAccess } from './access/read-constraint.js';
import { anyLetterScope } from '../search/reach.js';

/** Parameters that never restrict a match. */
const NOT_CRITERIA = new Set(['_format', '_pretty', '_summary', '_elements', '_count', '_sort', '_total']);

/** `If-None-Exist: identifier=a|b` (optionally prefixed by `Type?` or `?`) as parameters. */
export function ifNoneExistParams(header: string): URLSearchParams {
  return new URLSearchParams(header.trim().replace(/^[A-Za-z]*\?/, ''));
}

export async function findConditionalMatches(
  store: ResourceStore,
  deps: InteractionDeps,
  type: string,
  params: URLSearchParams,
  label: string,
): Promise<StoredVersion[]> {
  const criteria = new URLSearchParams([...params].filter(([name]) => !NOT_CRITERIA.has(name)));
  if ([...criteria.keys()].length === 0) throw badRequest(`${label}: no search criteria given`, [label]);
  const canonical = [...criteria].map(([k, v]) => `${k}=${v}`).sort().join('&');
  // The lock is named by a digest of the criteria, not their text: they are client input, not
  // yet validated, and text PostgreSQL cannot hold (a NUL) would fail the statement (a 500).
  await store.lockKeys([`${store.tenantId}|${type}|${createHash('sha256').update(canonical).digest('base64url')}`]);
  const { searching } = await deps.searchParams.load(store);
  const { scope } = await requestAccess(store);
  return deps.search.findMatches(store, type, criteria, 2, searching, anyLetterScope(scope));
}
