// create and conditional create (FHIR R4 http.html#create, #ccreate).
import { randomUUID } from 'node:crypto';
import type { ResourceStore } from '../../storage/resource-store.js';
import { findConditionalMatches, ifNoneExistParams } from '../conditional.js';
import { preconditionFailed } from '../../core/errors.js';
import type { FhirRequest } from '../../core/types.js';
import { resourceBody, storeVersion, versionHeaders, writeResponse, type Interaction, type InteractionDeps } from './context.js';

export function createInteraction(req: FhirRequest, deps: InteractionDeps, type: string): Interaction {
  return {
    target: { interaction: 'create', resourceType: type },
    readOnly: false,
    async run(store: ResourceStore) {
      const resource = resourceBody(req, deps, type);
      if (req.ifNoneExist !== undefined) {
        const matches = await findConditionalMatches(store, deps, type, ifNoneExistParams(req.ifNoneExist), 'If-None-Exist');
        if (matches.length > 1) throw preconditionFailed(`If-None-Exist matched ${matches.length} or more ${type} resources`);
        if (matches.length === 1) {
          // Already there: 200 with the existing resource, nothing written.
          const existing = matches[0];
          const response = writeResponse(req, 200, existing, `${type}/${existing.id} already exists`);
          return { ...response, headers: versionHeaders(req, existing, true) };
        }
      }
      // The server assigns the id; any id in the body is ignored (http.html#create).
      const id = req.assignedId ?? randomUUID();
      const created = await storeVersion(store, deps, req, { type, id, method: 'POST', status: 201, numbers: req.bodyNumbers }, resource, undefined);
      return writeResponse(req, 201, created, `Created ${type}/${id}`);
    },
  };
}
