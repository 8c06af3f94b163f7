// create and conditional create (FHIR R4 http.html#create, #ccreate). Under SMART scopes the
// new content must be within the caller's reach (access/write-check.ts), and a conditional
// create only finds resources the caller could have written.
import { randomUUID } from 'node:crypto';
import type { ResourceStore } from '../../storage/resource-store.js';
import { findConditionalMatches, ifNoneExistParams } from '../conditional.js';
import { preconditionFailed } from '../../core/errors.js';
import type { FhirRequest } from '../../core/types.js';
import { openWriteGuard } from '../access/write-check.js';
import { resourceBody, storeVersion, versionHeaders, writeResponse, type Interaction, type InteractionDeps } from './context.js';

export function createInteraction(req: FhirRequest, deps: InteractionDeps, type: string): Interaction {
  return {
    target: { interaction: 'create', resourceType: type },
    readOnly: false,
    async run(store: ResourceStore) {
      const resource = resourceBody(req, deps, type);
      // The server assigns the id; any id in the body is ignored (http.html#create).
      const id = req.assignedId ?? randomUUID();
      const guard = await openWriteGuard(store, deps.searchParams, req.access, 'c', type);
      guard.assertContent(id, resource);
      if (req.ifNoneExist !== undefined) {
        const found = await findConditionalMatches(store, deps, type, ifNoneExistParams(req.ifNoneExist), 'If-None-Exist');
        const matches = guard.reachable(found);
        if (matches.length > 1) throw preconditionFailed(`If-None-Exist matched ${matches.length} or more ${type} resources`);
        if (matches.length === 1) {
          // Already there: 200 with the existing resource, nothing written.
          const existing = matches[0];
          const response = writeResponse(req, 200, existing, `${type}/${existing.id} already exists`);
          return { ...response, headers: versionHeaders(req, existing, true) };
        }
      }
      const created = await storeVersion(store, deps, req, { type, id, method: 'POST', status: 201, numbers: req.bodyNumbers }, resource, undefined);
      return writeResponse(req, 201, created, `Created ${type}/${id}`);
    },
  };
}
