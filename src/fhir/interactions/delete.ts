// delete and conditional delete (FHIR R4 http.html#delete, #cdelete). A delete writes a
// tombstone version; deleting what is deleted or unknown succeeds and writes nothing. Under
// SMART scopes (access/write-check.ts) a resource out of the caller's reach answers exactly like
// an unknown one (nothing to delete) and is left alone; so do a constrained caller's tombstones,
// and conditional deletes see only what the caller may delete.
import type { ResourceStore } from '../../storage/resource-store.js';
import { findConditionalMatches } from '../conditional.js';
import { preconditionFailed } from '../../core/errors.js';
import { checkIfMatch } from '../preconditions.js';
import type { FhirRequest, FhirResponse } from '../../core/types.js';
import { openWriteGuard } from '../access/write-check.js';
import { informational, storeVersion, versionHeaders, type Interaction, type InteractionDeps } from './context.js';

function deletedResponse(req: FhirRequest, message: string, headers: Record<string, string> = {}): FhirResponse {
  if (req.prefer.return === 'minimal') return { status: 204, headers };
  return { status: 200, headers, body: { kind: 'json', value: informational(message) } };
}

async function deleteResource(store: ResourceStore, deps: InteractionDeps, req: FhirRequest, type: string, id: string) {
  const guard = await openWriteGuard(store, deps.searchParams, req.access, 'd', type);
  const current = guard.visible(await store.readCurrent(type, id, { forUpdate: true }));
  checkIfMatch(req, current);
  if (!current) return deletedResponse(req, `${type}/${id} does not exist; nothing to delete`);
  if (current.deleted) return deletedResponse(req, `${type}/${id} was already deleted`);
  const status = req.prefer.return === 'minimal' ? 204 : 200;
  const tombstone = await storeVersion(store, deps, req, { type, id, method: 'DELETE', status }, null, current);
  const { ETag } = versionHeaders(req, tombstone, false);
  return deletedResponse(req, `Deleted ${type}/${id} (version ${tombstone.versionId})`, { ETag });
}

export function deleteInteraction(req: FhirRequest, deps: InteractionDeps, type: string, id: string): Interaction {
  return {
    target: { interaction: 'delete', resourceType: type, id },
    readOnly: false,
    run: (store) => deleteResource(store, deps, req, type, id),
  };
}

export function conditionalDeleteInteraction(req: FhirRequest, deps: InteractionDeps, type: string): Interaction {
  return {
    target: { interaction: 'delete', resourceType: type },
    readOnly: false,
    async run(store) {
      const guard = await openWriteGuard(store, deps.searchParams, req.access, 'd', type);
      const matches = guard.reachable(await findConditionalMatches(store, deps, type, req.query, 'search criteria'));
      if (matches.length > 1) throw preconditionFailed(`The criteria matched more than one ${type}; be more selective`);
      if (matches.length === 0) return deletedResponse(req, `No ${type} matched; nothing to delete`);
      return deleteResource(store, deps, req, type, matches[0].id);
    },
  };
}
